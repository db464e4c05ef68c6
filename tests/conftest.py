"""Shared helpers: run the real `tf-equiv` command in a subprocess and read its JUnit report."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
EXAMPLES = os.path.join(ROOT, "examples")


@dataclass
class Case:
    verdict: str
    message: str
    text: str
    file: str
    line: str


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    cases: dict          # "module.py::pair::check" -> Case
    xml: object

    def case(self, case_id: str) -> Case:
        assert case_id in self.cases, f"{case_id} not in report: {sorted(self.cases)}"
        return self.cases[case_id]

    def verdicts(self, prefix: str) -> dict:
        """{check: verdict} for every case of one pair (`module.py::pair`)."""
        return {k[len(prefix) + 2:]: c.verdict for k, c in self.cases.items()
                if k.startswith(prefix + "::")}


def read_junit(path: str) -> tuple:
    xml = JUnitXml.fromfile(path)
    cases = {}
    for suite in xml:
        for tc in suite:
            result = tc.result[0] if tc.result else None
            if isinstance(result, Failure):
                verdict = "failed"
            elif isinstance(result, Error):
                verdict = "error"
            elif isinstance(result, Skipped):
                verdict = "xfailed" if (result.message or "").startswith("xfailed") else "skipped"
            else:
                verdict = "xpassed" if (tc.system_out or "").startswith("xpassed") else "passed"
            cases[f"{suite.name}::{tc.name}"] = Case(
                verdict, (result.message or "") if result is not None else "",
                (result.text or "") if result is not None else "", tc._elem.get("file", ""),
                tc._elem.get("line", ""))
    return cases, xml


#: Set by a GitHub Actions runner; a test that wants them sets them itself.
GITHUB_VARIABLES = ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE")


def tf_equiv(*args: str, cwd: str = ROOT, timeout: float = 1500, env: Optional[dict] = None,
             **kw) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in GITHUB_VARIABLES}
    return subprocess.run([sys.executable, "-m", "tf_equiv", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, env={**base, **(env or {})}, **kw)


def check(tmp_path, *args: str, cwd: str = ROOT, explain: bool = False,
          env: Optional[dict] = None) -> Run:
    """The real command; without `explain`, failed checks are not re-run to explain them (that
    has its own tests and would only repeat the same runs here)."""
    report = os.path.join(str(tmp_path), "report.xml")
    more = () if explain else ("--no-explain",)
    proc = tf_equiv("check", *args, *more, "--junit-xml", report, cwd=cwd, env=env)
    cases, xml = read_junit(report) if os.path.exists(report) else ({}, None)
    return Run(proc.returncode, proc.stdout, proc.stderr, cases, xml)


@pytest.fixture(scope="session")
def fixtures_run(tmp_path_factory) -> Run:
    """Every broken-migration fixture, run once by the real command (the slow part of the suite)."""
    return check(tmp_path_factory.mktemp("fixtures"), ".", cwd=FIXTURES)


def processes_with(mark: str, source: str = "cmdline") -> list:
    """The pids of the processes whose arguments (`source="cmdline"`) or environment
    (`"environ"`) hold `mark` as one whole entry, from /proc."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/{source}", "rb") as f:
                if mark.encode() in f.read().split(b"\0"):
                    found.append(pid)
        except OSError:
            pass
    return found
