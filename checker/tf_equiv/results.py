"""Finished results: one case per pair and check, and the run's Report. Exit codes are decided here."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Literal, Optional

#: A case's verdict, as pytest names its outcomes.
Verdict = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
VERDICTS: tuple[Verdict, ...] = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
MODULE_CASE = "<module>"


@dataclass(frozen=True)
class CaseResult:
    """One JUnit test case: `<pair>::<check>` of one module."""

    module: str
    pair: str
    check: str
    verdict: Verdict
    message: str
    detail: str = ""
    duration: float = 0.0
    file: str = ""
    line: int = 0
    warnings: tuple[str, ...] = ()
    #: verdict.compare.RecordComparison values, for reporters (not named here: the reporters may
    #: not import the verdict package, which imports this module).
    records: tuple[Any, ...] = ()
    #: A failure whose cause the comparison already names: "initializer" (draws or distribution),
    #: "structure" (records or gradients one side lacks), "vacuous" (nothing finite to compare).
    #: Numeric explanations cannot change such a verdict and are not tried.
    cause: str = ""
    #: A passing comparison's margin: the rtol used over the smallest rtol that would have passed
    #: (inf: every record equal or within atol); None where nothing was compared with a tolerance.
    margin: Optional[float] = None

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
    cases: tuple[CaseResult, ...]
    duration: float = 0.0
    environment: dict[str, Any] = field(default_factory=dict)
    compat_fixes: tuple[str, ...] = ()
    #: "rtol", "atol" and the pair's per-record globs -> a number, an (rtol, atol) pair or None.
    tolerances: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class Report:
    pairs: tuple[PairResult, ...]
    duration: float = 0.0
    interrupted: bool = False
    note: str = ""      # said after the duration in the summary line: "summed over 3 reports"
    errors: tuple[str, ...] = ()   # files the run could not write at its end (--timings)

    @property
    def cases(self) -> list[CaseResult]:
        return [c for p in self.pairs for c in p.cases]

    def counts(self) -> Counter[Verdict]:
        """Every verdict, in VERDICTS order, with its number of cases (0 included)."""
        counts: Counter[Verdict] = Counter({v: 0 for v in VERDICTS})
        counts.update(verdict_counts(self.cases))
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


def verdict_counts(cases: Iterable[CaseResult]) -> Counter[Verdict]:
    """The verdicts the cases got, in the order first seen, with their numbers of cases (a verdict
    no case got is not counted)."""
    return Counter(c.verdict for c in cases)


def summary_line(counts: Counter[Verdict], duration: float, note: str = "") -> str:
    parts = [f"{counts[v]} {v if v != 'error' else 'errors' if counts[v] != 1 else 'error'}"
             for v in VERDICTS if counts[v]]
    text = (", ".join(parts) or "no checks ran") + f" in {duration:.1f}s"
    return f"{text} ({note})" if note else text


def short(x: Optional[float]) -> str:
    """A statistic as messages and reports show it: three significant digits, `inf` for none."""
    if x is None or (isinstance(x, float) and math.isinf(x)):
        return "inf"
    return f"{x:.3g}"
