"""Both sides' events -> one verdict per check of a pair (the parent's comparisons happen here)."""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any, Callable, Mapping, Optional, Sequence

from tf_equiv import checks
from tf_equiv.errors import RecordsError
from tf_equiv.pair import problems_message
from tf_equiv.protocol.settings import PairSettings
from tf_equiv.results import MODULE_CASE, CaseResult, PairResult, appended, apply_marks
from tf_equiv.run.protocol import Environment, Event, Fatal, Transfer
from tf_equiv.run.protocol import PairSettings as SettingsEvent  # the event that carries them
from tf_equiv.run.records import SideCheck
from tf_equiv.run.sides import SideRun
from tf_equiv.verdict.compare import Outcome, margin, margin_words
from tf_equiv.verdict.outcome import compare_check


def module_error(module: str, message: str, line: int, detail: str = "") -> PairResult:
    case = CaseResult(module, MODULE_CASE, MODULE_CASE, "error", message, detail=detail,
                      file=module, line=line)
    return PairResult(module, MODULE_CASE, (case,))


def settings_of(runs: Mapping[str, SideRun]) -> Optional[PairSettings]:
    """The pair's settings as a side's worker read them; None when no worker got that far."""
    for side in ("tf1", "tf2"):
        event = runs[side].find(SettingsEvent) if side in runs else None
        if event:
            return PairSettings.of(event.settings)
    return None


class EarlyComparisons:
    """Compares each check as soon as both sides have sent it, while the workers go on: the
    comparisons then cost no wall time when a side finishes before the other."""

    def __init__(self, later: tuple = (), release: Optional[tuple[str, Sequence[str]]] = None
                 ) -> None:
        #: Checks compared only at the end (training_run while its kernel-noise run goes on).
        self._later = frozenset(later)
        self._lock = threading.Lock()
        self._settings: Optional[PairSettings] = None
        self._found: dict[str, dict[str, SideCheck]] = {"tf1": {}, "tf2": {}}
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._futures: dict[str, Future[Outcome]] = {}
        # release = (the pair's own folder, its checks): a record file there is deleted once every
        # check that reads it has passed. Nothing reads a passing check's records again (an
        # explanation and --artifacts read failing ones), and a run then holds the records of the
        # checks in flight, not those of every check of every pair (95 MB a side and regime on
        # inception_v3). Records anywhere else (a store given to --against) are never touched.
        self._folder = os.path.realpath(release[0]) if release else ""
        self._readers: dict[tuple[str, str], set[str]] = {}
        for check in release[1] if release else ():
            if check in checks.SPECS and check not in self._later:
                for side in checks.spec(check).sides:
                    source = checks.tf1_source(check) if side == "tf1" else check
                    self._readers.setdefault((side, source), set()).add(check)

    def on_event(self, side: str, event: Event) -> None:
        """Called by the runner's reader threads with every event of every side."""
        with self._lock:
            if isinstance(event, SettingsEvent) and self._settings is None:
                self._settings = PairSettings.of(event.settings)
            if not isinstance(event, SideCheck) or event.status != "ok" or not self._settings:
                return
            self._found[side][event.check] = event
            for check in (event.check, *[s.id for s in checks.TABLE
                                         if s.tf1_record == event.check]):
                found = {"tf2": self._found["tf2"].get(check)}
                if not checks.tf2_only(check):
                    found["tf1"] = self._found["tf1"].get(checks.tf1_source(check))
                arrived = {side: e for side, e in found.items() if e is not None}
                if len(arrived) == len(found) and check not in self._futures \
                        and check not in self._later:
                    self._futures[check] = self._pool.submit(self._compare, check, arrived,
                                                             self._settings)

    def _compare(self, check: str, found: dict[str, SideCheck], settings: PairSettings
                 ) -> Outcome:
        outcome = compare_check(check, found, settings)
        if outcome.verdict == "passed" and self._folder:
            with self._lock:
                done = []
                for side, event in found.items():
                    readers = self._readers.get((side, event.check))
                    if readers is None:
                        continue
                    readers.discard(check)
                    if not readers:
                        done += [event.file, event.meta.get("eager_file")]
            for path in done:
                self._delete(path)
        return outcome

    def _delete(self, path: Any) -> None:
        """Delete a record file of the pair's own folder (a worker names it; any other path is
        left alone)."""
        if isinstance(path, str) and os.path.dirname(os.path.realpath(path)) == self._folder:
            try:
                os.unlink(path)
            except OSError:
                pass

    def results(self) -> dict[str, Outcome]:
        """{check: Outcome} of the comparisons that completed (one that raised is redone later)."""
        self._pool.shutdown(wait=True)
        return {c: f.result() for c, f in self._futures.items() if f.exception() is None}


def judge(module: str, pair: str, line: int, planned: Sequence[tuple[str, Optional[str]]],
          runs: Mapping[str, SideRun], early: Optional[Mapping[str, Outcome]] = None,
          own_plan: bool = True) -> PairResult:
    """The pair's cases: the worker's own plan when it reported one (else the static plan).

    `early` holds comparisons already made (EarlyComparisons.results()); with `own_plan` False,
    exactly the planned checks are judged (an explanation's, say).
    """
    read = settings_of(runs)
    settings = read or PairSettings()
    # The worker knows the pair's own `checks` (not always visible in the source): keep the
    # planned checks it confirms, with its skip reasons.
    wanted = {c for c, _ in planned}
    plan = [c for c in settings.checks if c[0] in wanted] \
        if settings.checks and own_plan else list(planned)
    line = settings.line or line
    env = _environment(runs)

    # case(check, verdict, message, ...): a CaseResult of this pair, at the Pair unless told.
    case = partial(CaseResult, module, pair, file=module, line=line)

    fatal = next((f for r in runs.values() if (f := r.find(Fatal))), None)
    cases = []
    for check, skip_reason in plan:
        skip = settings.skip or skip_reason
        if fatal:
            result = case(check, "error", fatal.message, detail=fatal.detail)
        elif settings.problems:
            result = case(check, "error", problems_message(pair, settings.problems))
        elif skip:
            result = case(check, "skipped", skip)
        else:
            result = _judge_check(check, runs, settings, case, (early or {}).get(check))
        cases.append(apply_marks(result, settings.xfail))
    # None for a pair whose settings no worker read; a glob's pair as a list, as reports show it.
    tolerances: dict[str, Any] = {"rtol": None, "atol": None} if read is None else \
        {"rtol": read.rtol, "atol": read.atol, **{g: list(t) for g, t in read.tolerances.items()}}
    return PairResult(module, pair, tuple(cases), 0.0, env["environment"], env["compat_fixes"],
                      tolerances, line)


def _environment(runs: Mapping[str, SideRun]) -> dict[str, Any]:
    """The TF2 side's environment, plus `tf1_<key>` wherever the TF1 side's differs (stored
    records from another TensorFlow version, say)."""
    found = {side: run.find(Environment) or Environment() for side, run in runs.items()}
    main = found.get("tf2") or found.get("tf1") or Environment()
    env = dict(main.environment)
    tf1 = found["tf1"].environment if "tf1" in found else {}
    env.update({f"tf1_{k}": v for k, v in tf1.items() if env.get(k) != v})
    fixes = tuple(dict.fromkeys(f for e in found.values() for f in e.compat_fixes))
    return {"environment": env, "compat_fixes": fixes}


def _side_check(run: SideRun, check: str) -> tuple[Optional[SideCheck], float]:
    """(SideCheck or None, seconds it took on that side)."""
    previous = 0.0
    for at, event in run.events:
        if isinstance(event, SideCheck) and event.check == check:
            return event, at - previous
        if isinstance(event, (SideCheck, SettingsEvent, Transfer)):
            previous = at
    return None, 0.0


def _judge_check(check: str, runs: Mapping[str, SideRun], settings: PairSettings,
                 case: Callable[..., CaseResult], early: Optional[Outcome] = None) -> CaseResult:
    sides = checks.spec(check).sides
    found: dict[str, SideCheck] = {}
    seconds = 0.0
    for side in sides:
        name = checks.tf1_source(check) if side == "tf1" else check
        result, took = _side_check(runs[side], name)
        seconds = max(seconds, took)
        if result is None:
            run = runs[side]
            verdict_msg = run.how_it_ended()
            if run.finished:
                verdict_msg = f"{side.upper()} side finished without a result for {check}"
            if run.protocol_errors:
                verdict_msg += (f"; its worker sent {len(run.protocol_errors)} lines that are no "
                                f"event of this version (first: {run.protocol_errors[0]})")
            tail = run.log_tail()
            detail = (f"last {len(tail.splitlines())} lines of its output:\n{tail}" if tail
                      else "it printed nothing")
            timed_out = run.timed_out and not run.interrupted and not run.finished
            return case(check, "error", f"{check}: {verdict_msg}", detail=detail, duration=seconds,
                        timed_out=timed_out, words=verdict_msg)
        if result.status == "error":
            said = f"{side.upper()} side: {result.message}"
            return case(check, "error", f"{check}: {said}", detail=result.detail,
                        duration=seconds, words=said)
        if result.status == "skipped":
            return case(check, "skipped", result.message, duration=seconds)
        found[side] = result
    try:
        outcome = early or compare_check(check, found, settings)
    except RecordsError as e:
        return case(check, "error", f"{check}: {e}", duration=seconds, words=str(e))
    judged = case(check, outcome.verdict, outcome.message, detail=outcome.detail,
                  duration=seconds, warnings=outcome.warnings, records=outcome.records,
                  cause=outcome.cause, series=outcome.series, hint=outcome.hint,
                  audit=outcome.audit, words=outcome.words,
                  statement=outcome.statement or outcome.words or outcome.message)
    kept = margin(outcome.records) if outcome.verdict == "passed" else None
    if outcome.margin is not None:      # said in the message already
        judged = replace(judged, margin=outcome.margin)
    elif kept is not None:
        judged = replace(appended(judged, f"; {margin_words(kept)}"), margin=kept[0])
    # An outcome that points at a user-code line (a variable's creator) is located there.
    return replace(judged, file=outcome.file, line=outcome.line) if outcome.line else judged
