"""Finished results: one case per pair and check, and the run's Report. Exit codes are decided here."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Optional

VERDICTS = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
MODULE_CASE = "<module>"


@dataclass(frozen=True)
class CaseResult:
    """One JUnit test case: `<pair>::<check>` of one module."""

    module: str
    pair: str
    check: str
    verdict: str
    message: str
    detail: str = ""
    duration: float = 0.0
    file: str = ""
    line: int = 0
    warnings: tuple = ()
    records: tuple = ()      # RecordComparison values, for reporters
    #: A failure whose cause the comparison already names: "initializer" (draws or distribution),
    #: "structure" (records or gradients one side lacks), "vacuous" (nothing finite to compare).
    #: Numeric explanations cannot change such a verdict and are not tried.
    cause: str = ""

    @property
    def name(self) -> str:
        return self.pair if self.check == MODULE_CASE else f"{self.pair}::{self.check}"

    @property
    def id(self) -> str:
        return f"{self.module}::{self.name}"


@dataclass(frozen=True)
class PairResult:
    """Every case of one pair, plus what its sides said about themselves."""

    module: str
    pair: str
    cases: tuple
    duration: float = 0.0
    environment: dict = field(default_factory=dict)
    compat_fixes: tuple = ()
    tolerances: dict = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class Report:
    pairs: tuple
    duration: float = 0.0
    interrupted: bool = False
    note: str = ""      # said after the duration in the summary line: "summed over 3 reports"

    @property
    def cases(self) -> list:
        return [c for p in self.pairs for c in p.cases]

    def counts(self) -> Counter:
        counts = Counter({v: 0 for v in VERDICTS})
        counts.update(c.verdict for c in self.cases)
        return counts

    @property
    def return_code(self) -> int:
        """0 when nothing failed or errored (skips, xfails and xpasses allowed), else 1."""
        counts = self.counts()
        return 1 if (counts["failed"] or counts["error"] or self.interrupted) else 0


def apply_marks(case: CaseResult, xfail: Optional[str]) -> CaseResult:
    """pytest's non-strict xfail: a failure or error is xfailed, a pass is xpassed."""
    if not xfail or case.verdict in ("skipped",):
        return case
    if case.verdict in ("failed", "error"):
        return replace(case, verdict="xfailed", message=f"xfailed ({xfail}): {case.message}")
    return replace(case, verdict="xpassed", message=f"xpassed ({xfail}): {case.message}")


def summary_line(counts: Counter, duration: float, note: str = "") -> str:
    parts = [f"{counts[v]} {v if v != 'error' else 'errors' if counts[v] != 1 else 'error'}"
             for v in ("passed", "failed", "error", "skipped", "xfailed", "xpassed") if counts[v]]
    text = (", ".join(parts) or "no checks ran") + f" in {duration:.1f}s"
    return f"{text} ({note})" if note else text


def short(x: Optional[float]) -> str:
    """A statistic as messages and reports show it: three significant digits, `inf` for none."""
    if x is None or (isinstance(x, float) and math.isinf(x)):
        return "inf"
    return f"{x:.3g}"
