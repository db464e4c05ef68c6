"""JUnit XML with the junit-xml package: one <testsuite> per module, one <testcase> per check."""
from __future__ import annotations

import dataclasses
import json
import os
import re

from junit_xml import TestCase, TestSuite, to_xml_report_string

from tf_equiv.files import atomic_write
from tf_equiv.report.read_junit import DIAGNOSIS, FACTS, JSON_FACTS
from tf_equiv.report.terminal import endpoints
from tf_equiv.results import MODULE_CASE, CaseResult, Cause, RecordComparison, Report, diagnosis

#: The attribute that marks a report as tf-equiv's own (`<testsuites name="tf-equiv">`): only such
#: a file may be replaced by a new report.
MARK = ("name", "tf-equiv")
#: The failing records a failing check keeps in the XML, besides its endpoints (for the charts).
KEPT_FAILING = 20


def _classname(module: str) -> str:
    stem = module[:-3] if module.endswith(".py") else module
    return stem.replace(os.sep, ".").replace("/", ".").lstrip(".")


def _body(case: CaseResult, cause: Cause | None = None) -> str:
    parts = [case.message]
    if cause is not None:
        parts.append(diagnosis_paragraph(cause))
    if case.detail:
        parts.append(case.detail)
    parts += [f"warning: {w}" for w in case.warnings]
    return "\n\n".join(parts)


def diagnosis_paragraph(cause: Cause) -> str:
    """The cause of a failing check in a few lines (no blank line): what, where, what next."""
    lines = [f"{DIAGNOSIS}{cause.title}", f"  checks: {cause.checks}"]
    if cause.place:
        lines.append(f"  where: {cause.place}")
    if cause.next_step:
        lines.append(f"  next: {cause.next_step}")
    return "\n".join(lines)


def kept_records(case: CaseResult) -> tuple[RecordComparison, ...]:
    """What a failing check keeps of its records for a report made from the XML: its endpoints
    in forward order (thinned as the terminal shows them) and its first failing records."""
    if case.verdict != "failed":
        return ()
    shown = endpoints(case)
    # The endpoints exactly as charted (with more they would be thinned and charted otherwise),
    # then the first failing records that are no endpoint (gradients, variables...).
    others = [r for r in case.records if not r and not (shown and r.name.startswith("outputs/"))]
    keep = {id(r) for r in shown + others[:KEPT_FAILING]}
    return tuple(r for r in case.records if id(r) in keep)


def records_json(records: tuple[RecordComparison, ...]) -> str:
    return json.dumps([dataclasses.asdict(r) for r in records], separators=(",", ":"))


def _testcase(case: CaseResult, cause: Cause | None = None) -> TestCase:
    out = "\n".join(f"warning: {w}" for w in case.warnings) or None
    tc = TestCase(case.name, classname=_classname(case.module), elapsed_sec=round(case.duration, 3),
                  file=case.file or case.module, line=case.line or None, stdout=out)
    if case.verdict == "failed":
        tc.add_failure_info(message=case.message, output=_body(case, cause))
    elif case.verdict == "error":
        tc.add_error_info(message=case.message, output=_body(case, cause))
    elif case.verdict in ("skipped", "xfailed"):
        tc.add_skipped_info(message=case.message, output=_body(case) if case.detail else None)
    else:
        # A passing case has no element for its message: system-out carries it (an xpass's starts
        # with "xpassed"), so that `tf-equiv merge` reads every message back.
        tc.stdout = _body(case) or None
    return tc


def _properties(report: Report, module: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for pair in report.pairs:
        if pair.module != module:
            continue
        for key, value in pair.environment.items():
            props[f"environment.{key}"] = str(value)
        if pair.compat_fixes:
            # The union over the module's pairs: one pair's fixes must not hide another's.
            known = props["compat_fixes"].split(",") if "compat_fixes" in props else []
            props["compat_fixes"] = ",".join(dict.fromkeys(known + list(pair.compat_fixes)))
        for key, value in pair.tolerances.items():
            if value is not None:
                label = key if key in ("rtol", "atol") else f"tolerances[{key}]"
                props[f"{pair.pair}.{label}"] = str(value)
        for case in pair.cases:
            if case.margin is not None:     # the rtol used over the rtol needed ("inf": equal)
                props[f"margin.{case.name}"] = f"{case.margin:.4g}"
            # The case's fields, so that `merge` diagnoses and reports as the run did.
            for name in FACTS:
                value = getattr(case, name)
                if value:
                    props[f"{name}.{case.name}"] = json.dumps(value) if name in JSON_FACTS \
                        else value
            if case.series:     # a training run's curves, for a report made from this file
                props[f"series.{case.name}"] = json.dumps(dict(case.series),
                                                          separators=(",", ":"))
            kept = kept_records(case)
            if kept:     # the charts of a report made again from this file (`merge --html`)
                props[f"records.{case.name}"] = records_json(kept)
    return props


def to_xml(report: Report) -> str:
    suites = []
    modules = list(dict.fromkeys(p.module for p in report.pairs))
    causes = {c.id: cause for pair in report.pairs if pair.pair != MODULE_CASE
              for cause in diagnosis(pair) for c in cause.cases}
    for module in modules:
        cases = [c for c in report.cases if c.module == module]
        suites.append(TestSuite(module, [_testcase(c, causes.get(c.id)) for c in cases],
                                file=module,
                                properties=_properties(report, module)))
    if not suites:
        suites.append(TestSuite("tf-equiv", []))
    xml = to_xml_report_string(suites, prettyprint=True, encoding="utf-8")
    # junit_xml sums the cases' times into <testsuites time>; the run's wall time is what the
    # terminal showed, and what `tf-equiv merge` adds up over shards.
    xml = re.sub(r'(<testsuites\b[^>]*?\btime=")[^"]*"', rf'\g<1>{report.duration:.3f}"', xml,
                 count=1)
    # The mark that lets a later run replace this file (see destinations.py).
    return xml.replace("<testsuites", f'<testsuites {MARK[0]}="{MARK[1]}"', 1)


def write(report: Report, path: str) -> None:
    """Write the report atomically: a reader never sees half a file."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    atomic_write(path, lambda f: f.write(to_xml(report)))
