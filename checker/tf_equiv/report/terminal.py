"""The terminal: a progress line per pair, then the failures with their statistics, then a total."""
from __future__ import annotations

import math
import shutil
import textwrap
import time
from typing import Any, Mapping, Optional, Sequence, TextIO

from tf_equiv.results import (
    MODULE_CASE,
    CaseResult,
    PairResult,
    Report,
    Verdict,
    diagnosis,
    headline,
    headline_words,
    own_words,
    short,
    summary_line,
    verdict_counts,
)

BAD: tuple[Verdict, ...] = ("failed", "error")
#: Endpoints shown per failing check (terminal table and job summary chart).
MAX_ENDPOINTS = 60


class Running:
    """Which pairs are running and for how long, so that a long pair never looks like a hang.

    On a terminal, one live line under the finished pairs, rewritten in place
    ("running 0:42 equiv_net.py::net"); elsewhere (a CI log), a plain line for each pair that has
    run `first` seconds, then every `every` seconds. Finished pairs' lines go through `done`,
    which clears the live line first.
    """

    def __init__(self, stream: TextIO, live: Optional[bool] = None, first: float = 30.0,
                 every: float = 60.0, width: int = 0) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.first, self.every = first, every
        self.width = width or shutil.get_terminal_size().columns
        self._shown = ""
        self._said: dict[str, float] = {}      # pair -> elapsed when last said (plain lines)

    def tick(self, running: Mapping[str, float], now: Optional[float] = None) -> None:
        now = time.monotonic() if now is None else now
        if self.live:
            parts = [f"{_clock(now - started)} {pair}"
                     for pair, started in sorted(running.items(), key=lambda item: item[1])]
            text = ("running " + ", ".join(parts))[:max(10, self.width - 1)] if parts else ""
            if text != self._shown:
                self.stream.write("\r\x1b[K" + text)
                self.stream.flush()
                self._shown = text
            return
        for pair, started in sorted(running.items(), key=lambda item: item[1]):
            elapsed = now - started
            said = self._said.get(pair)
            if (said is None and elapsed >= self.first) or \
                    (said is not None and elapsed - said >= self.every):
                self.stream.write(f"... {pair} still running ({_clock(elapsed)})\n")
                self.stream.flush()
                self._said[pair] = elapsed

    def clear(self) -> None:
        if self.live and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = ""

    def done(self, result: PairResult, index: int, total: int) -> None:
        self.clear()
        self._said.pop(f"{result.module}::{result.pair}", None)
        progress(result, index, total, self.stream)


def _times(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress(result: PairResult, index: int, total: int, stream: TextIO,
             numbered: bool = True) -> None:
    text = ", ".join(f"{n} {v}" for v, n in verdict_counts(result.cases).items()) or "no checks"
    width = len(str(total))
    number = f"[{index:>{width}}/{total}] " if numbered else ""
    # The passing check nearest to failing, where one is not simply equal or within atol.
    finite = [c for c in result.cases if c.verdict == "passed" and c.margin is not None
              and not math.isinf(c.margin)]
    if finite:
        least = min(finite, key=lambda c: c.margin or 0.0)
        text += f"  (narrowest margin {_times(least.margin or 0.0)}x: {least.check})"
    stream.write(f"{number}{result.module}::{result.pair}  {text}  {result.duration:.1f} s\n")
    stream.flush()


def final(report: Report, stream: TextIO, show_failures: bool = True) -> None:
    """The diagnosis of each failing pair, the failures (unless already shown), warnings,
    environment and the summary line."""
    if show_failures:
        diagnoses(report, stream)
        failures(report.cases, stream, repeated=_repeated(report))
    _footer(report, stream)


def diagnoses(report: Report, stream: TextIO) -> None:
    """Per failing pair, each cause once: the checks it explains, where, the evidence, what next."""
    # A module that could not be read is one failure already, said once below.
    found = [(pair, causes) for pair in report.pairs
             if pair.pair != MODULE_CASE and (causes := diagnosis(pair))]
    if not found:
        return
    stream.write("\n" + _rule("DIAGNOSIS") + "\n")
    for pair, causes in found:
        failing = sum(len(c.cases) for c in causes)
        stream.write(f"\n{pair.module}::{pair.pair}: {_count(len(causes), 'cause')} of "
                     f"{_count(failing, 'failing check')}\n")
        for cause in causes:
            stream.write(f"  - {cause.title}\n")
            stream.write(f"    checks: {cause.checks}\n")
            if cause.place:
                stream.write(f"    where: {cause.place}\n")
            for line in cause.evidence:
                stream.write(f"    evidence: {line}\n")
            if cause.next_step:
                stream.write(f"    next: {cause.next_step}\n")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _repeated(report: Report) -> set:
    """The failing cases whose cause an earlier case of the same cause already shows in full."""
    return {c.id for pair in report.pairs for cause in diagnosis(pair)
            for c in cause.cases[1:] if cause.cases[0].explanation}


def failures(cases: Sequence[CaseResult], stream: TextIO, repeated: frozenset | set = frozenset()
             ) -> None:
    """The failing cases with their statistics, one block per pair and message."""
    bad = [c for c in cases if c.verdict in BAD]
    if bad:
        stream.write("\n" + _rule("FAILURES") + "\n")
    # One block per pair and message: a side that crashed fails all its checks the same way.
    groups: dict[tuple[str, str, Verdict, str, str], list[CaseResult]] = {}
    for case in bad:
        groups.setdefault((case.module, case.pair, case.verdict, own_words(case), case.detail),
                          []).append(case)
    for (module, pair, verdict, message, detail), group in groups.items():
        checks = ", ".join(c.check for c in group)
        title = group[0].id if len(group) == 1 else f"{module}::{pair} [{checks}]"
        stream.write(f"\n{_rule(title, '_')}\n")
        first = group[0]
        text = first.message if len(group) == 1 else message
        if all(c.id in repeated for c in group):
            # Its explanation and localization are the diagnosis's, shown once above.
            # So is the randomness audit of a random check.
            text = headline(first) if len(group) == 1 else headline_words(first)
            stream.write(f"{verdict.upper()}: {text} (diagnosis above)\n")
            detail = _without_explanation(first)
        else:
            stream.write(f"{verdict.upper()}: {text}\n")
        if detail:
            stream.write(textwrap.indent(detail.rstrip(), "    ") + "\n")
        for case in group:
            table = endpoint_table(case)
            if table:
                stream.write(textwrap.indent(table, "    ") + "\n")


def _without_explanation(case: CaseResult) -> str:
    """The case's detail without the lines its explanation added (shown with the diagnosis)."""
    added = case.explanation_detail
    if not added or not case.detail.endswith(added):
        return case.detail
    return case.detail[:-len(added)].rstrip("\n")


def endpoints(case: CaseResult, limit: int = MAX_ENDPOINTS) -> list:
    """The output records of a case in forward order, thinned to `limit` (keeping the first
    divergence); empty when there are fewer than two endpoints."""
    points = [r for r in case.records if r.name.startswith("outputs/")]
    if len(points) < 2:
        return []
    if len(points) > limit:
        step = math.ceil(len(points) / limit)
        first_bad = next((r for r in points if not r), None)
        points = [r for i, r in enumerate(points) if i % step == 0 or r is first_bad]
    return points


def endpoint_table(case: CaseResult) -> str:
    """The error per endpoint in forward order, the first divergence marked."""
    points = endpoints(case)
    if not points:
        return ""
    first_bad = next((r for r in points if not r), None)
    width = max(len(r.name) for r in points)
    lines = [f"error per endpoint, in forward order ({case.check}):"]
    for r in points:
        value = r.note if r.problem else f"max rel {short(r.max_rel):<9} max abs {short(r.max_abs)}"
        mark = "  <- first divergence" if r is first_bad else ("" if r else "  x")
        lines.append(f"  {r.name:<{width}}  {value}{mark}")
    return "\n".join(lines)


def _footer(report: Report, stream: TextIO) -> None:
    warned = [c for c in report.cases if c.warnings]
    if warned:
        stream.write("\n" + _rule("warnings") + "\n")
        for case in warned:
            for warning in case.warnings:
                stream.write(f"{case.id}: {warning}\n")
    fixes = sorted({f for p in report.pairs for f in p.compat_fixes})
    env: dict[str, Any] = next((p.environment for p in report.pairs if p.environment), {})
    if env:
        stream.write("\nenvironment: " + ", ".join(f"{k} {v}" for k, v in env.items()) + "\n")
    if fixes:
        stream.write(f"compat fixes applied: {', '.join(fixes)}\n")
    line = summary_line(report.counts(), report.duration, report.note)
    if report.interrupted:
        line = "interrupted: " + line
    stream.write("\n" + _rule(line) + "\n")
    stream.flush()


def _rule(title: str, fill: str = "=") -> str:
    """A centred title between fill characters, as pytest prints its section lines."""
    side = max(2, (78 - len(title) - 2) // 2)
    return f"{fill * side} {title} {fill * side}"
