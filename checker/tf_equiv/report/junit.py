"""JUnit XML with the junit-xml package: one <testsuite> per module, one <testcase> per check."""
from __future__ import annotations

import os
import re

from junit_xml import TestCase, TestSuite, to_xml_report_string

from tf_equiv.files import atomic_write
from tf_equiv.results import CaseResult, Report

#: The attribute that marks a report as tf-equiv's own (`<testsuites name="tf-equiv">`): only such
#: a file may be replaced by a new report.
MARK = ("name", "tf-equiv")


def _classname(module: str) -> str:
    stem = module[:-3] if module.endswith(".py") else module
    return stem.replace(os.sep, ".").replace("/", ".").lstrip(".")


def _body(case: CaseResult) -> str:
    parts = [case.message]
    if case.detail:
        parts.append(case.detail)
    parts += [f"warning: {w}" for w in case.warnings]
    return "\n\n".join(parts)


def _testcase(case: CaseResult) -> TestCase:
    out = "\n".join(f"warning: {w}" for w in case.warnings) or None
    tc = TestCase(case.name, classname=_classname(case.module), elapsed_sec=round(case.duration, 3),
                  file=case.file or case.module, line=case.line or None, stdout=out)
    if case.verdict == "failed":
        tc.add_failure_info(message=case.message, output=_body(case))
    elif case.verdict == "error":
        tc.add_error_info(message=case.message, output=_body(case))
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
            # The diagnosis's facts, so that `merge` diagnoses as the run did.
            if case.explanation:
                props[f"explanation.{case.name}"] = case.explanation
            if case.place:
                props[f"place.{case.name}"] = case.place
    return props


def to_xml(report: Report) -> str:
    suites = []
    modules = list(dict.fromkeys(p.module for p in report.pairs))
    for module in modules:
        cases = [c for c in report.cases if c.module == module]
        suites.append(TestSuite(module, [_testcase(c) for c in cases], file=module,
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
