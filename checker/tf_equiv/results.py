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
class RecordComparison:
    """One record compared (by verdict.compare); `bool(result)` means it passed."""

    name: str
    passed: bool
    rtol: float
    atol: float
    shape: tuple[int, ...] = ()
    total: int = 0
    mismatched: int = 0
    max_abs: float = 0.0
    max_rel: float = 0.0
    worst_index: tuple[int, ...] = ()
    needed_rtol: float = 0.0
    needed_atol: float = 0.0
    problem: str = ""      # "", "nonfinite", "shape", "dtype"
    note: str = ""         # what the problem is, in words
    weak: bool = False     # passed, but every element is one value on both sides
    #: Failed, with a last axis of at most verdict.compare.MAX_CHANNELS: the largest difference
    #: per channel (the last axis), to show where in the record the difference lies.
    channels: tuple[float, ...] = ()

    def __bool__(self) -> bool:
        return self.passed

    def summary(self) -> str:
        """One line: what differs and by how much."""
        if self.problem:
            return f"{self.name}: {self.note}"
        return (f"{self.name}: max abs diff {short(self.max_abs)}, max rel diff {short(self.max_rel)} at "
                f"index {index_words(self.worst_index)}; {self.mismatched} of {self.total} elements "
                f"mismatched (rtol={short(self.rtol)}, atol={short(self.atol)}; would pass with "
                f"rtol={short(self.needed_rtol)} or atol={short(self.needed_atol)})")


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
    #: The records compared, for reporters.
    records: tuple[RecordComparison, ...] = ()
    #: A failure whose cause the comparison already names: "initializer" (draws or distribution),
    #: "structure" (records or gradients one side lacks), "vacuous" (nothing finite to compare).
    #: Numeric explanations cannot change such a verdict and are not tried.
    cause: str = ""
    #: A passing comparison's margin: the rtol used over the smallest rtol that would have passed
    #: (inf: every record equal or within atol); None where nothing was compared with a tolerance.
    margin: Optional[float] = None
    #: What the check found, without its id, randomness audit, hint or explanation: the
    #: message's first part ("" where the message says nothing more than that).
    statement: str = ""
    #: What the check's own result advises, without "Hint: " ("" for none).
    hint: str = ""
    #: A random check's randomness audit, without "Random ops: ": each side's random ops and
    #: where their draws stop lining up ("" without an audit).
    audit: str = ""
    #: Set by the diagnosis of a failing check: the explanation as the message says it
    #: ("Explanation: ..."), its finding (the title of its cause), what it advises (its hint),
    #: the lines it added to the detail, and where inside the graph the sides part (the pair's
    #: localization), in words.
    explanation: str = ""
    finding: str = ""
    next_step: str = ""
    explanation_detail: str = ""
    place: str = ""
    #: The block of the migrated code to fix, as localization found it: the one holding the op
    #: that differs or has no counterpart ("" when unknown or outside every block).
    block: str = ""
    #: An error because a side ran past its timeout and was killed (explanations say so of a
    #: re-run); only the run that judged it knows, JUnit does not keep it.
    timed_out: bool = False
    #: Named series of numbers a picture draws (training_run: step, loss_tf1, loss_tf2,
    #: divergence, band), each thinned to at most a hundred points.
    series: tuple[tuple[str, tuple[float, ...]], ...] = ()
    #: The message without the check's id it starts with (`<check>: `) and without an xfail
    #: mark: the words a side that crashed says alike of every check, by which reporters group
    #: them. "" where the message names no check (a skip, a module's error): it is its own words.
    words: str = ""

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
    #: Said after the report, each one making the exit status 1: a file the run could not write
    #: at its end (--timings), a part of a merged report that could not be read.
    errors: tuple[str, ...] = ()

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
    verdict: Verdict = "xfailed" if case.verdict in ("failed", "error") else "xpassed"
    return replace(case, verdict=verdict, message=_mark(verdict, xfail) + case.message)


def unmarked(case: CaseResult, xfail: Optional[str]) -> CaseResult:
    """An xfailed case as the failure it was before apply_marks."""
    mark = _mark("xfailed", xfail)
    message = case.message[len(mark):] if case.message.startswith(mark) else case.message
    return replace(case, verdict="failed", message=message)


def _mark(verdict: Verdict, xfail: Optional[str]) -> str:
    return f"{verdict} ({xfail}): "


def verdict_counts(cases: Iterable[CaseResult]) -> Counter[Verdict]:
    """The verdicts the cases got, in the order first seen, with their numbers of cases (a verdict
    no case got is not counted)."""
    return Counter(c.verdict for c in cases)


def summary_line(counts: Counter[Verdict], duration: float, note: str = "") -> str:
    parts = [f"{counts[v]} {v if v != 'error' else 'errors' if counts[v] != 1 else 'error'}"
             for v in VERDICTS if counts[v]]
    text = (", ".join(parts) or "no checks ran") + f" in {duration:.1f}s"
    return f"{text} ({note})" if note else text


def index_words(index: tuple[int, ...]) -> str:
    """An array index or shape as Python writes a tuple: `(3,)`, `(0, 2)`."""
    return "(" + ", ".join(map(str, index)) + ("," if len(index) == 1 else "") + ")"


def short(x: Optional[float]) -> str:
    """A statistic as messages and reports show it: three significant digits, `inf` for none."""
    if x is None or (isinstance(x, float) and math.isinf(x)):
        return "inf"
    return f"{x:.3g}"


@dataclass(frozen=True)
class Cause:
    """One reason a pair fails, with every check it explains."""

    title: str
    cases: tuple[CaseResult, ...]
    place: str = ""
    evidence: tuple[str, ...] = ()
    next_step: str = ""

    @property
    def checks(self) -> str:
        return ", ".join(c.check for c in self.cases)


def diagnosis(pair: PairResult) -> list[Cause]:
    """The pair's failing and erroring checks grouped by cause, in the order they were found:
    an error of a side, a cause the comparison names (structure, initializer, vacuous), a
    variable mismatch, an explained or localized divergence, or (without explanations) the first
    record where the sides part. Grouped by the cases' fields, never by their wording."""
    groups: dict[tuple[str, ...], list[CaseResult]] = {}
    for case in pair.cases:
        if case.verdict not in ("failed", "error"):
            continue
        groups.setdefault(_cause_key(case), []).append(case)
    # A check explained alike but not localized (gradients, whose outputs are no forward
    # endpoint) joins the one place found with that explanation.
    for key in [k for k in groups if k[0] == "explained" and not k[3]]:
        placed = [k for k in groups if k[0] == "explained" and k[1:3] == key[1:3] and k[3]]
        if len(placed) == 1:
            groups[placed[0]].extend(groups.pop(key))
    return [_cause(key, tuple(cases)) for key, cases in groups.items()]


def own_words(case: CaseResult) -> str:
    """The case's message without its check's id in front (CaseResult.words)."""
    return case.words or case.message


def appended(case: CaseResult, text: str) -> CaseResult:
    """The case with `text` said after its message (and its words)."""
    return replace(case, message=case.message + text, words=case.words and case.words + text)


def comparison_words(case: CaseResult) -> str:
    """The case's message as its comparison made it, without the explanation that a diagnosis
    said after it (explanations with a localization keep theirs)."""
    said = f". {case.explanation}"
    return case.message[:-len(said)] if case.explanation and case.message.endswith(said) \
        else case.message


def headline(case: CaseResult) -> str:
    """A failing case's message without its explanation and randomness audit (what a diagnosis
    shows once for a cause), its check's id in front."""
    if not case.statement:
        return comparison_words(case)
    return f"{case.check}: " + headline_words(case)


def headline_words(case: CaseResult) -> str:
    """The headline without the check's id in front (the words of the checks it groups)."""
    if case.statement:
        return compose(case.statement, hint="" if case.audit else case.hint)
    said, words = f". {case.explanation}", own_words(case)
    return words[:-len(said)] if case.explanation and words.endswith(said) else words


def compose(statement: str, audit: str = "", hint: str = "") -> str:
    """A result's words from its fields, as its message says them: the statement, the randomness
    audit, then the hint."""
    return ". ".join([statement] + ([AUDIT + audit] if audit else [])
                     + ([HINT + hint] if hint else []))


def explanation_words(finding: str, next_step: str = "") -> str:
    """An explanation as a message says it (CaseResult.explanation)."""
    return f"{EXPLANATION}{finding}" + (f". {HINT}{next_step}" if next_step else "")


def _first_divergence(case: CaseResult) -> str:
    return next((r.name for r in case.records if not r), "")


def _cause_key(case: CaseResult) -> tuple[str, ...]:
    if case.verdict == "error":
        return ("error", own_words(case))
    if case.cause:
        return (case.cause, case.statement or own_words(case))
    if case.check in ("variables_match", "variables_created_once"):
        return ("variables", case.check)
    if case.explanation or case.place:
        # An explanation read from an older report has no finding: its words stand for it.
        return ("explained", case.finding or case.explanation, case.next_step, case.place)
    return ("diverges", _first_divergence(case) or own_words(case))


def _cause(key: tuple[str, ...], cases: tuple[CaseResult, ...]) -> Cause:
    kind, first = key[0], cases[0]
    if kind == "error":
        return Cause(f"error: {key[1]}", cases, next_step="fix what the error names (its "
                     "traceback is under the check); the other checks of the side did not run")
    if kind in ("structure", "initializer", "vacuous"):
        words = {"structure": "the outputs' structure differs",
                 "initializer": "an initial value is drawn differently",
                 "vacuous": "nothing finite was compared"}[kind]
        return Cause(f"{words}: {key[1]}", cases,
                     next_step=first.hint or "fix the migrated code where it is named")
    if kind == "variables":
        return Cause(first.statement or own_words(first), cases,
                     next_step=first.hint or "see the variable diff under the check")
    evidence = tuple(r for r in (_divergence_words(first), _audit_words(cases)) if r)
    if kind == "explained":
        return Cause(key[1], cases, place=next((c.place for c in cases if c.place), ""),
                     evidence=evidence, next_step=_next_step(first, cases))
    return Cause(f"the sides part first at {key[1]}" if _first_divergence(first) else
                 own_words(first), cases, evidence=evidence,
                 next_step="run with explanations (the default) to tell numerics from a bug")


def _next_step(first: CaseResult, cases: tuple[CaseResult, ...]) -> str:
    """What an explained cause advises: its explanation's hint, else the block to fix."""
    if first.next_step:
        return first.next_step
    where = next((c.block for c in cases if c.block), "")
    return f"fix block {where} of the migrated code" if where \
        else "fix the migrated code where the sides part"


#: How a message introduces its parts (`compose`, `explanation_words`).
AUDIT, HINT, EXPLANATION = "Random ops: ", "Hint: ", "Explanation: "


def _audit_words(cases: Iterable[CaseResult]) -> str:
    """The randomness audit of the first random check a cause explains, once for them all."""
    for case in cases:
        if case.audit:
            return f"randomness audit ({case.check}): {case.audit}"
    return ""


def _divergence_words(case: CaseResult) -> str:
    record = next((r for r in case.records if not r), None)
    return f"{case.check}: {record.summary()}" if record is not None else ""
