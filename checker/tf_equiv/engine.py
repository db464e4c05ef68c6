"""The conductor: plan (plan/) -> run each pair's sides -> judge -> diagnose -> Report.

The engine never imports TensorFlow or user code; it reads declarations statically and leaves the
rest to the workers. Every pair yields a result, even when the checker is interrupted.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Callable, Optional

from tf_equiv import checks, stopping
from tf_equiv.ast_lock import format_exc
from tf_equiv.diagnose import artifacts
from tf_equiv.diagnose.explain import explain
from tf_equiv.plan.discover import Module, PlannedPair
from tf_equiv.plan.planner import Config, Plan, discovered, make_plan, misnamed
from tf_equiv.plan.shards import write_timings
from tf_equiv.results import CaseResult, PairResult, Report, Verdict
from tf_equiv.run.kernels import KernelRun
from tf_equiv.run.protocol import Fatal, ModulePairs
from tf_equiv.run.sides import SideRun, SideSpec, run_sides
from tf_equiv.run.store import Store
from tf_equiv.run.stored_side import StoredTF1, check_inputs, record_pair, stored_tf1
from tf_equiv.verdict.history import read_margins, warn_shrunk, write_margins
from tf_equiv.verdict.judge import EarlyComparisons, judge, module_error
from tf_equiv.verdict.steps import confirm_training

#: Planning lives in plan/; the engine's callers have always found these here.
__all__ = ["Config", "Plan", "make_plan", "run", "run_pair", "collect"]

#: (a PairResult, or None for a module whose pairs a worker listed; the side runs)
Finished = tuple[Optional[PairResult], dict[str, SideRun]]


@dataclass(frozen=True)
class Shared:
    """What every pair of one run shares."""

    config: Config
    workdir: str                           # each pair's folder is made inside it
    threads: int                           # per side process
    stop: threading.Event
    store: Optional[Store] = None          # the records of --against or record --out
    parts: int = 1                         # processes a side's checks are split over
    budget: Optional[artifacts.Budget] = None  # --artifacts' space


def run_pair(planned: PlannedPair, config: Config, workdir: str, threads: int,
             stop: threading.Event,
             budget: Optional[artifacts.Budget] = None) -> tuple[PairResult, dict[str, SideRun]]:
    """Run one pair's sides and judge them; never raises. Returns (PairResult, side runs: their
    events; the files they wrote are gone)."""
    return _conduct(planned, Shared(config, workdir, threads, stop, budget=budget))


def _conduct(planned: PlannedPair, shared: Shared) -> tuple[PairResult, dict[str, SideRun]]:
    """run_pair. The pair's records, logs and explanation runs live in a folder of their own,
    deleted when the pair is done: a run of hundreds of pairs holds the files of the pairs in
    flight only."""
    if shared.stop.is_set():
        return _all(planned, "error", "not run: interrupted"), {}
    # A pair's name is an identifier (discover and misnamed see to it); the prefix is only for a
    # person reading the temporary folder, so it is sanitised all the same.
    out_dir = tempfile.mkdtemp(
        prefix=f"{re.sub(r'[^A-Za-z0-9_]', '_', planned.declared.name)[:40]}-",
        dir=shared.workdir)
    try:
        return _run_pair(planned, shared, out_dir)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def _run_pair(planned: PlannedPair, shared: Shared,
              out_dir: str) -> tuple[PairResult, dict[str, SideRun]]:
    config, threads = shared.config, shared.threads
    module, declared = planned.module, planned.declared
    started = time.monotonic()
    timeout = declared.timeout or config.timeout
    if declared.skip is not None:
        return _all(planned, "skipped", declared.skip, named=False), {}
    runnable = [c for c, reason in planned.checks if reason is None]
    spec = SideSpec(module.path, declared.name, tuple(runnable), out_dir, float(timeout),
                    replace(config.options, threads=threads), config.python,
                    tf1_python=config.tf1_python)
    if config.record_out:
        assert shared.store is not None, "make_plan opens the store of record --out"
        result, recorded = record_pair(planned, spec, shared.store, shared.stop, shared.parts)
        return replace(result, duration=time.monotonic() - started), {"tf1": recorded}
    stored: Optional[StoredTF1] = None
    if config.against and not all(map(checks.tf2_only, runnable)):
        assert shared.store is not None, "make_plan opens the store of --against"
        stored, problem = stored_tf1(planned, shared.store)
        if problem:
            return _all(planned, "error", problem), {}
    result, runs, judged = _judged(planned, shared, spec, stored)
    if judged:
        result = _diagnosed(result, shared, spec, runs, stored, float(timeout))
    return replace(result, duration=time.monotonic() - started), runs


def _judged(planned: PlannedPair, shared: Shared, spec: SideSpec,
            stored: Optional[StoredTF1]) -> tuple[PairResult, dict[str, SideRun], bool]:
    """Both sides run (TF1's read from the store under --against) and judged, each check as soon
    as both sides have sent it: (result, runs, False when a checker bug ended it)."""
    runnable = [c for c, reason in planned.checks if reason is None]
    sides: tuple[str, ...] = () if not runnable else ("tf2",) \
        if all(map(checks.tf2_only, runnable)) else ("tf1", "tf2")
    runs: dict[str, SideRun] = {}
    kernels: Optional[KernelRun] = None
    try:
        kernels = KernelRun(spec, () if stored else sides, shared.stop, stored=stored is not None)
        early = EarlyComparisons(later=kernels.pending, release=(spec.out_dir, runnable))
        if stored is not None:
            for _, event in stored["run"].events:  # compared as they arrive, as if run now
                early.on_event("tf1", event)
            runs = run_sides(spec, shared.stop, ("tf2",), transfer=stored["transfer"],
                             parts=shared.parts, listener=early.on_event)
            runs["tf1"] = stored["run"]
        elif sides:
            runs = run_sides(spec, shared.stop, sides, parts=shared.parts,
                             listener=early.on_event)
        kernels.attach(runs)
        return judge(planned.module.display, planned.declared.name, planned.declared.line,
                     planned.checks, runs, early.results()), runs, True
    except Exception as exc:  # a checker bug must not lose the other pairs' results
        if kernels is not None:
            kernels.close()
        return _all(planned, "error", f"internal error of tf-equiv: {type(exc).__name__}: {exc}",
                    format_exc()), runs, False


def _diagnosed(result: PairResult, shared: Shared, spec: SideSpec, runs: dict[str, SideRun],
               stored: Optional[StoredTF1], timeout: float) -> PairResult:
    """The judged result with what tells why a check failed; never changes a verdict but
    training_run's, whose steps run from TF1's state are part of it."""
    config = shared.config
    result = confirm_training(result, spec, runs, shared.stop, timeout, spec.out_dir,
                              stored=stored is not None)
    if stored is not None:
        result = check_inputs(result, stored, runs["tf2"])
    elif config.explain:
        try:
            result = explain(result, spec, runs, shared.stop, timeout, spec.out_dir)
        except Exception:  # an explanation is extra: the verdicts stand without it
            result = _note_all(result, "explanation failed: internal error of tf-equiv",
                               format_exc())
    if config.artifacts and shared.budget is not None:
        try:
            artifacts.save_pair(config.artifacts, result, result.module, runs, shared.budget,
                                _rerun_options(config))
        except Exception:  # the verdicts stand without their arrays
            result = _note_all(result, "--artifacts: saving the arrays failed",
                               format_exc())
    return result


def _rerun_options(config: Config) -> tuple[str, ...]:
    """The options of this run that change the numbers, for the artifacts' re-run command."""
    return config.options.flags() + ((f"--against={config.against}",) if config.against else ()) \
        + ((f"--tf1-python={config.tf1_python}",) if config.tf1_python else ())


def _note_all(result: PairResult, note: str, detail: str) -> PairResult:
    cases = tuple(replace(c, detail=f"{c.detail}\n\n{note}\n{detail}".strip())
                  if c.verdict == "failed" else c for c in result.cases)
    return replace(result, cases=cases)


def _all(planned: PlannedPair, verdict: Verdict, message: str, detail: str = "",
         named: bool = True) -> PairResult:
    """The one way a whole pair gets one verdict (interrupted, skipped, an unusable store, an
    internal error): every planned check, each message led by the check's id when `named`."""
    module, declared = planned.module, planned.declared
    return PairResult(module.display, declared.name, tuple(
        CaseResult(module.display, declared.name, c, verdict,
                   f"{c}: {message}" if named else message, detail=detail,
                   words=message if named else "",
                   file=module.display, line=declared.line) for c, _ in planned.checks),
        line=declared.line)


def collect(module: Module, config: Config, workdir: str, stop: threading.Event) -> Finished:
    """Import a module in a worker to list its pairs: (PairResult for an import error, runs)."""
    out_dir = tempfile.mkdtemp(prefix="collect-", dir=workdir)
    spec = SideSpec(module.path, "", (), out_dir, config.timeout,
                    replace(config.options, threads=1), config.python)
    try:
        runs = run_sides(spec, stop, ("tf2",))
    except Exception as exc:  # a checker bug must not lose the other modules' results
        return module_error(module.display, f"internal error of tf-equiv while collecting pairs: "
                            f"{type(exc).__name__}: {exc}", 0, format_exc()), {}
    fatal = runs["tf2"].find(Fatal)
    if fatal:
        return module_error(module.display, fatal.message, int(fatal.line or 0),
                            fatal.detail), runs
    if not runs["tf2"].find(ModulePairs):
        run = runs["tf2"]
        return module_error(module.display, f"collecting pairs: {run.how_it_ended()}", 0,
                            run.log_tail()), runs
    return None, runs


def run(config: Config, plan: Plan, on_pair: Callable[[PairResult, int, int], None],
        stop: Optional[threading.Event] = None,
        on_tick: Optional[Callable[[dict[str, float]], None]] = None) -> Report:
    """Run every planned pair, up to `config.jobs` at once; SIGINT/SIGTERM stop the run cleanly.

    `stop`: an event the caller's own handlers set (installed before planning, so that a signal in
    the first moments also ends in a report); without it, the handlers are installed here.
    `on_tick(running)`: called about five times a second with {pair id: time.monotonic() at its
    start} for the pairs running then (a progress display).
    """
    started = time.monotonic()
    previous: dict[signal.Signals, stopping.Handler] = {}
    if stop is None:
        stop = threading.Event()
        previous = stopping.install(stop)
    workdir = tempfile.mkdtemp(prefix="tf-equiv-")
    jobs, threads, parts = _shares(config, plan)
    shared = Shared(config, workdir, threads, stop, plan.store, parts,
                    artifacts.Budget() if config.artifacts else None)
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = _Conductor(plan, shared, pool, on_pair).until_done(on_tick)
    finally:
        stopping.restore(previous)
        shutil.rmtree(workdir, ignore_errors=True)
        if config.artifacts:
            artifacts.finish(config.artifacts)
    order = {m.display: i for i, m in enumerate(plan.modules)}
    results.sort(key=lambda r: (order.get(r.module, 0), r.pair != "<module>", r.line, r.pair))
    return _with_history(config, Report(tuple(results), time.monotonic() - started,
                                        interrupted=stop.is_set()))


def _shares(config: Config, plan: Plan) -> tuple[int, int, int]:
    """(pairs at once, threads per side process, processes per side). Every core gets a worker:
    when fewer sides run than there are cores (one pair, or only one side with --against or
    record), a side's checks are split over two processes."""
    jobs = max(1, min(config.jobs, len(plan.pairs) + len(plan.to_collect) * config.jobs or 1))
    cores = os.cpu_count() or 1
    sides = 1 if (config.record_out or config.against) else 2
    parts = max(1, min(2, cores // (jobs * sides)))
    return jobs, max(1, cores // (jobs * sides * parts)), parts


class _Conductor:
    """The pairs of one run in flight, and their results in the order they finish: a module's
    pairs a worker lists on import are scheduled as they are found."""

    def __init__(self, plan: Plan, shared: Shared, pool: Executor,
                 on_pair: Callable[[PairResult, int, int], None]) -> None:
        self.plan, self.shared, self.pool, self.on_pair = plan, shared, pool, on_pair
        self.running: dict[str, float] = {}     # pair id -> time.monotonic() at its start
        self.results: list[PairResult] = []
        self.total = len(plan.pairs) + len(plan.broken)
        self.scheduled = {p.id for p in plan.pairs}
        self.misnamed_seen: set[str] = set()
        self.pending: dict[Future[Finished], Module] = {}

    def until_done(self, on_tick: Optional[Callable[[dict[str, float]], None]]) -> list[PairResult]:
        for broken in self.plan.broken:
            self._report(broken)
        for planned in self.plan.pairs:
            self._submit(planned)
        for module in self.plan.to_collect:
            self.pending[self.pool.submit(collect, module, self.shared.config,
                                          self.shared.workdir, self.shared.stop)] = module
        while self.pending:
            # A timeout, so that the main thread wakes for a signal's handler at once.
            done, _ = wait(self.pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if on_tick is not None:
                on_tick(dict(self.running))
            for future in done:
                module = self.pending.pop(future)
                self._finished(module, *future.result())
        return self.results

    def _submit(self, planned: PlannedPair) -> None:
        self.pending[self.pool.submit(self._timed, planned)] = planned.module

    def _timed(self, planned: PlannedPair) -> Finished:
        self.running[planned.id] = time.monotonic()
        try:
            return _conduct(planned, self.shared)
        finally:
            self.running.pop(planned.id, None)

    def _finished(self, module: Module, result: Optional[PairResult],
                  runs: dict[str, SideRun]) -> None:
        found = [result] if result is not None else []
        # A module a worker could not list: one result more than planned.
        self.total += result is not None and result.pair == "<module>" \
            and module in self.plan.to_collect
        bad = None if module.path in self.misnamed_seen else misnamed(module, runs)
        if bad is not None:
            self.misnamed_seen.add(module.path)
            found.append(bad)
            self.total += 1
        for each in found:
            self._report(each)
        for extra in discovered(self.shared.config, module, runs):
            if extra.id not in self.scheduled:
                self.scheduled.add(extra.id)
                self.total += 1
                self._submit(extra)

    def _report(self, result: PairResult) -> None:
        self.results.append(result)
        self.on_pair(result, len(self.results), self.total)


def _with_history(config: Config, report: Report) -> Report:
    """The report with --margins' warnings; --timings and --margins updated for the next run
    (a file that cannot be written is an error of the report, the results stand)."""
    if config.record_out:
        return report
    errors: list[str] = []
    if config.timings:
        try:
            write_timings(config.timings, report)
        except OSError as e:
            errors.append(f"--timings {config.timings}: could not be written: {e.strerror or e}")
    if config.margins:
        last_run = read_margins(config.margins)
        report = warn_shrunk(report, last_run)
        try:
            write_margins(config.margins, report, last_run)
        except OSError as e:
            errors.append(f"--margins {config.margins}: could not be written: {e.strerror or e}")
    return replace(report, errors=tuple(errors)) if errors else report
