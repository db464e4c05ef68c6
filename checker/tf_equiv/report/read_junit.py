"""Read a JUnit XML report that tf-equiv wrote (report/junit.py) back into a Report.

Standard library only: `tf-equiv merge` runs in the parent process, which needs no XML package.
What the XML does not hold reads back empty: a pair's duration and line (0), the compared
records of a check that did not fail (()); a failing check keeps its endpoints and first
failing records. The environment and compat fixes are written per module, so every pair of a
module (but a `<module>` error) reads back the module's. Tolerances that were None are not written.

The records and curves a failing check keeps only draw its charts: one that cannot be read (a file
edited by hand, another writer) leaves that case without them and is said in `Report.errors`,
naming the file, the case and the property; the verdicts and the rest of the file are read.
"""
from __future__ import annotations

import ast
import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import fields, replace
from typing import Any, Optional

from tf_equiv.ast_lock import AST_LOCK
from tf_equiv.errors import UsageError
from tf_equiv.results import MODULE_CASE, CaseResult, PairResult, RecordComparison, Report, Verdict

WARNING = "warning: "
INTERRUPTED = "not run: interrupted"  # the error of every check a stopped run did not start
#: The first line of the paragraph of a failure body that tells the pair's diagnosis: it is
#: dropped here, as the diagnosis is made again from the properties.
DIAGNOSIS = "diagnosis of the pair: "
RESULTS: dict[str, Verdict] = {"failure": "failed", "error": "error", "skipped": "skipped"}
#: The text fields of a CaseResult that report/junit.py writes as one property each,
#: `<field>.<pair>::<check>`; a report from an older version lacks some, which read back "".
#: The newer ones are JSON strings: an XML attribute does not keep a line break.
PLAIN_FACTS = ("cause", "explanation", "place", "block")
JSON_FACTS = ("statement", "hint", "audit", "finding", "next_step", "explanation_detail")
FACTS = PLAIN_FACTS + JSON_FACTS
assert set(FACTS) <= {f.name for f in fields(CaseResult) if f.type == "str"}


class _NotOurs(ValueError):
    """The XML is not a report written by tf-equiv; the message says why."""


def read_junit(path: str) -> Report:
    """The Report written to `path`; a UsageError names the file and what is wrong with it."""
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from None
    except ET.ParseError as e:
        raise UsageError(f"{path}: not XML ({e})") from None
    errors: list[str] = []
    try:
        report = _report(root, errors)
    except _NotOurs as e:
        raise UsageError(f"{path}: not a JUnit XML report written by tf-equiv: {e}") from None
    return replace(report, errors=tuple(f"{path}: {e}" for e in errors))


def _report(root: ET.Element, errors: list[str]) -> Report:
    """The Report in a parsed <testsuites> document; _NotOurs says why tf-equiv did not write it,
    `errors` gets what of a case could not be read."""
    if root.tag != "testsuites":
        raise _NotOurs(f"the root element is <{root.tag}>, not <testsuites>")
    suites = root.findall("testsuite")
    if not suites:
        raise _NotOurs("no <testsuite> element")
    pairs = [p for suite in suites for p in _suite(suite, errors)]
    interrupted = any(c.verdict == "error" and c.message.endswith(INTERRUPTED)
                      for p in pairs for c in p.cases)
    # <testsuites time> is the run's wall time; a file without it falls back on the cases' sum.
    duration = _number(root, "time", "<testsuites>") if root.get("time") is not None else \
        sum(_number(s, "time", "<testsuite>") for s in suites)
    return Report(tuple(pairs), duration, interrupted)


def _suite(suite: ET.Element, errors: list[str]) -> list[PairResult]:
    module = suite.get("name", "")
    testcases = suite.findall("testcase")
    if not testcases:
        # A run without modules writes one empty suite; a pair without cases has no test case.
        return []
    names = [_pair_name(tc, module) for tc in testcases]
    if suite.get("file") != module:
        raise _NotOurs(f"<testsuite name={module!r}> does not name its module in `file`")
    environment, fixes, tolerances, margins, facts = _properties(suite,
                                                                 {pair for pair, _ in names})
    cases: dict[str, list[CaseResult]] = {}
    for tc, (pair, check) in zip(testcases, names):
        case = _case(tc, module, pair, check)
        if f"{pair}::{check}" in margins:
            case = replace(case, margin=margins[f"{pair}::{check}"])
        said = facts.pop(f"{pair}::{check}", {})
        if said:
            for read in (_texts, _records, _series):
                try:
                    case = read(case, said)
                except _Unreadable as e:
                    errors.append(f"test case {case.name!r} of {module!r}: {e}; the case is "
                                  f"merged without its {_WITHOUT[read]}")
        cases.setdefault(pair, []).append(case)
    stray = next((f"{head}.{label}" for label, said in facts.items() for head in said), None)
    if stray is not None:
        raise _NotOurs(f"<testsuite name={module!r}>: property {stray!r} names no test case")
    return [PairResult(module, pair, tuple(found),
                       environment={} if pair == MODULE_CASE else dict(environment),
                       compat_fixes=() if pair == MODULE_CASE else fixes,
                       tolerances=tolerances.get(pair, {}))
            for pair, found in cases.items()]


def _pair_name(tc: ET.Element, module: str) -> tuple[str, str]:
    name = tc.get("name", "")
    if name == MODULE_CASE:
        return MODULE_CASE, MODULE_CASE
    pair, sep, check = name.partition("::")
    if not (sep and pair.isidentifier() and check):
        raise _NotOurs(f"test case {name!r} of {module!r} is not named <pair>::<check>")
    return pair, check


def _properties(suite: ET.Element, pairs: set[str]) -> tuple[
        dict[str, str], tuple[str, ...], dict[str, dict[str, Any]], dict[str, float],
        dict[str, dict[str, str]]]:
    """(environment, compat fixes, {pair: tolerances}, {pair::check: margin},
    {pair::check: {a name of FACTS, "records" or "series": text}}) from the
    suite's <property> elements."""
    facts: dict[str, dict[str, str]] = {}
    environment: dict[str, str] = {}
    fixes: tuple[str, ...] = ()
    tolerances: dict[str, dict[str, Any]] = {}
    margins: dict[str, float] = {}
    for prop in suite.iterfind("properties/property"):
        key, value = prop.get("name", ""), prop.get("value", "")
        head, _, label = key.partition(".")
        if (head in FACTS or head in ("records", "series")) and "::" in label:
            facts.setdefault(label, {})[head] = value
            continue
        if head == "margin" and "::" in label:
            try:
                margins[label] = float(value)
            except ValueError:
                raise _NotOurs(f"property {key!r} is not a number: {value!r}") from None
            continue
        # A pair may be named `environment`: its tolerances are the labels only a pair has.
        glob = _glob(label)
        if head in pairs and (label in ("rtol", "atol") or glob is not None):
            tolerances.setdefault(head, {})[label if glob is None else glob] = _literal(value)
        elif head == "environment" and label:
            environment[label] = value
        elif key == "compat_fixes":
            fixes = tuple(f for f in value.split(",") if f)
    return environment, fixes, tolerances, margins, facts


class _Unreadable(ValueError):
    """A case's records or curves cannot be read; the message names the property and why."""


#: What each field of a RecordComparison holds in the JSON that report/junit.py writes.
_RECORD_KINDS = {"name": "text", "passed": "flag", "rtol": "number", "atol": "number",
                 "shape": "index", "total": "count", "mismatched": "count", "max_abs": "number",
                 "max_rel": "number", "worst_index": "index", "needed_rtol": "number",
                 "needed_atol": "number", "problem": "text", "note": "text", "weak": "flag",
                 "channels": "numbers"}
_WORDS = {"text": "a string", "flag": "true or false", "number": "a number",
          "count": "a count", "index": "a list of counts", "numbers": "a list of numbers"}
assert set(_RECORD_KINDS) == {f.name for f in fields(RecordComparison)}


def _holds(kind: str, value: object) -> bool:
    if kind in ("index", "numbers"):
        item = "count" if kind == "index" else "number"
        return isinstance(value, list) and all(_holds(item, v) for v in value)
    if kind == "count":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str if kind == "text" else bool)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json(text: str, prop: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise _Unreadable(f"property {prop!r} is nested too deeply") from None
    except ValueError as e:
        raise _Unreadable(f"property {prop!r} is not JSON ({e})") from None


def _texts(case: CaseResult, said: dict[str, str]) -> CaseResult:
    """The case with its text fields (report/junit.py's `<field>.<case>`, FACTS)."""
    texts: dict[str, Any] = {name: said[name] for name in PLAIN_FACTS if name in said}
    for name in JSON_FACTS:
        if name in said:
            texts[name] = _json(said[name], f"{name}.{case.name}")
            if not isinstance(texts[name], str):
                raise _Unreadable(f"property {name + '.' + case.name!r} is not a string: "
                                  f"{_shown(texts[name])}")
    return replace(case, **texts)


def _property(case: CaseResult, said: dict[str, str], name: str, kind: type,
              words: str) -> tuple[str, Any]:
    """(the property's full name, its JSON value of `kind`, None when the case has none)."""
    prop = f"{name}.{case.name}"
    if not said.get(name):
        return prop, None
    value = _json(said[name], prop)
    if not isinstance(value, kind):
        raise _Unreadable(f"property {prop!r} is not {words}: {_shown(value)}")
    return prop, value


def _records(case: CaseResult, said: dict[str, str]) -> CaseResult:
    """The case with the records a failing check kept (report/junit.py's `records.<case>`)."""
    prop, items = _property(case, said, "records", list, "a list of records")
    if items is None:
        return case
    found = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _Unreadable(f"property {prop!r}: record {i} is not an object: {_shown(item)}")
        name = item.get("name")
        where = f"property {prop!r}: record {i}" + (f" ({name!r})" if isinstance(name, str) else "")
        for key, value in item.items():
            if key not in _RECORD_KINDS:
                raise _Unreadable(f"{where}: unknown field {_shown(key)}")
            if not _holds(_RECORD_KINDS[key], value):
                raise _Unreadable(f"{where}: {key} is not {_WORDS[_RECORD_KINDS[key]]}: "
                                  f"{_shown(value)}")
        missing = [k for k in ("name", "passed", "rtol", "atol") if k not in item]
        if missing:
            raise _Unreadable(f"{where}: no {', '.join(missing)}")
        checked: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                   for k, v in item.items()}
        found.append(RecordComparison(**checked))
    return replace(case, records=tuple(found))


def _series(case: CaseResult, said: dict[str, str]) -> CaseResult:
    """The case with a training run's curves (report/junit.py's `series.<case>`)."""
    prop, found = _property(case, said, "series", dict, "named series of numbers")
    if found is None:
        return case
    for key, values in found.items():
        if not _holds("numbers", values):
            raise _Unreadable(f"property {prop!r}: {key!r} is not a list of numbers: "
                              f"{_shown(values)}")
    if not all(math.isfinite(s) for s in found.get("step", [])):
        raise _Unreadable(f"property {prop!r}: 'step' has a number that is not finite")
    return replace(case, series=tuple((k, tuple(float(x) for x in v)) for k, v in found.items()))


#: What a case read back lacks when one of its properties cannot be read.
_WITHOUT = {_texts: "hint, audit and explanation fields", _records: "charts", _series: "charts"}


def _glob(label: str) -> Optional[str]:
    match = re.fullmatch(r"tolerances\[(.*)\]", label, re.DOTALL)
    return match.group(1) if match else None


def _literal(text: str) -> object:
    """A tolerance as written by str(): a number, or an (rtol, atol) list or tuple."""
    try:
        with AST_LOCK:
            return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    try:
        return float(text)  # inf and nan, which literal_eval does not read
    except ValueError:
        return text


def _case(tc: ET.Element, module: str, pair: str, check: str) -> CaseResult:
    result = next((child for child in tc if child.tag in RESULTS), None)
    out = tc.findtext("system-out") or ""
    verdict: Verdict
    if result is None:
        verdict = "xpassed" if out.startswith("xpassed") else "passed"
        message, detail, warnings = _split_out(out)
    else:
        verdict = RESULTS[result.tag]
        if verdict == "skipped" and (result.get("message") or "").startswith("xfailed"):
            verdict = "xfailed"
        warnings = _warning_lines(out)
        message, detail = _split_body(result.text or "", result.get("message") or "", warnings)
    where = f"test case {tc.get('name')!r} of {module!r}"
    line = tc.get("line")
    if line is not None and not line.isdigit():
        raise _NotOurs(f"{where}: line={line!r} is not a line number")
    return CaseResult(module, pair, check, verdict, message, detail=detail,
                      duration=round(_number(tc, "time", where), 3), file=tc.get("file", ""),
                      line=int(line or 0), warnings=warnings, words=_words(check, message))


def _words(check: str, message: str) -> str:
    """CaseResult.words of a message read back: the report keeps the message as the run said it
    (check id first), not its words apart, so that the XML stays what JUnit readers expect."""
    prefix = f"{check}: "
    return message[len(prefix):] if message.startswith(prefix) else ""


def _number(elem: ET.Element, attr: str, where: str) -> float:
    text = elem.get(attr) or "0"
    try:
        return float(text)
    except ValueError:
        raise _NotOurs(f"{where}: {attr}={text!r} is not a number") from None


def _split_body(body: str, attribute: str, warnings: tuple[str, ...]) -> tuple[str, str]:
    """(message, detail) of a result element whose text is `message\\n\\ndetail` + warnings."""
    # An XML parser turns newlines and tabs of an attribute into spaces: the body keeps them.
    head = body[:len(attribute)]
    message = head if re.sub(r"[\n\r\t]", " ", head) == attribute else attribute
    if not body.startswith(message):
        return attribute, body
    rest = body[len(message):]
    if rest.startswith(f"\n\n{DIAGNOSIS}"):     # made again from the properties
        end = rest.find("\n\n", 2)
        rest = rest[end:] if end >= 0 else ""
    suffix = "".join(f"\n\n{WARNING}{w}" for w in warnings)
    if suffix and rest.endswith(suffix):
        rest = rest[:-len(suffix)]
    return message, rest[2:] if rest.startswith("\n\n") else rest


def _warning_lines(out: str) -> tuple[str, ...]:
    """The warnings of a system-out made of `warning: ...` lines (a warning may span lines)."""
    if not out:
        return ()
    parts = re.split(rf"(?:^|\n){WARNING}", out)
    return tuple(parts[1:]) if not parts[0] else tuple(parts)


def _split_out(out: str) -> tuple[str, str, tuple[str, ...]]:
    """(message, detail, warnings) of a passing case's system-out: the paragraphs of its body."""
    message, _, rest = out.partition("\n\n")
    paragraphs = rest.split("\n\n") if rest else []
    warnings: list[str] = []
    while paragraphs and paragraphs[-1].startswith(WARNING):
        warnings.insert(0, paragraphs.pop()[len(WARNING):])
    return message, "\n\n".join(paragraphs), tuple(warnings)
