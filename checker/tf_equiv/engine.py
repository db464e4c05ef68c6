"""discover -> plan (pairs x checks) -> run each pair's sides -> judge -> Report.

The engine never imports TensorFlow or user code; it reads declarations statically and leaves the
rest to the workers. Every pair yields a result, even when the checker is interrupted.
"""
from __future__ import annotations

import fnmatch
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Optional, Sequence

from tf_equiv import checks as checks_mod
from tf_equiv import stopping
from tf_equiv.concurrency import format_exc
from tf_equiv.diagnose import artifacts
from tf_equiv.diagnose.explain import explain
from tf_equiv.errors import UsageError
from tf_equiv.pair import checks_problems, planned_checks
from tf_equiv.plan.destinations import (
    Output,
    check_distinct,
    check_report_path,
    check_rewritten_file,
)
from tf_equiv.plan.discover import DeclaredPair, Module, PlannedPair, find_modules, read_module
from tf_equiv.plan.shards import assign_shards, read_timings, shard_of, write_timings
from tf_equiv.results import CaseResult, PairResult, Report, Verdict
from tf_equiv.run.kernels import KernelRun
from tf_equiv.run.protocol import Fatal, ModulePairs
from tf_equiv.run.sides import SideRun, SideSpec, run_sides
from tf_equiv.run.store import Store
from tf_equiv.run.stored import StoredTF1, check_inputs, record_pair, stored_tf1
from tf_equiv.verdict.history import read_margins, warn_shrunk, write_margins
from tf_equiv.verdict.judge import EarlyComparisons, judge, module_error
from tf_equiv.verdict.steps import confirm_training


@dataclass(frozen=True)
class Config:
    """Everything a run needs, built by the CLI (or tests) and never changed."""

    paths: tuple[str, ...] = (".",)
    junit_xml: Optional[str] = None
    select: tuple[str, ...] = ()
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: float = 900.0
    shard: Optional[tuple[int, int]] = None  # (index, count), 1-based
    compat_fixes: bool = True
    allow_empty: bool = False
    against: Optional[str] = None          # compare with stored TF1 records instead of running TF1
    record_out: Optional[str] = None       # store the TF1 side's records instead of comparing
    python: str = sys.executable           # the interpreter of the workers (record: legacy TF)
    timings: Optional[str] = None          # JSON {pair id: seconds}, read for --shard, then updated
    listing: bool = False                  # `list`: plan only, write nothing
    margins: Optional[str] = None          # JSON {case id: margin}, warned against, then updated
    html: Optional[str] = None             # the self-contained HTML report
    explain: bool = True                   # re-run failed checks under numeric variations
    grappler_off: tuple[str, ...] = ()     # grappler passes turned off for the whole run
    tf1_optimized: bool = False            # TF1 keeps its graph optimizations in every check
    artifacts: Optional[str] = None        # folder for the arrays of failing records


@dataclass(frozen=True)
class Plan:
    modules: tuple[Module, ...]
    pairs: tuple[PlannedPair, ...]
    broken: tuple[PairResult, ...]         # PairResult per unreadable module
    #: Modules whose pairs are not visible in the source (made by a factory function, say): a
    #: worker imports them to list their pairs, which then run like the others.
    to_collect: tuple[Module, ...] = ()
    store: Optional[Store] = None          # the records of --against or record --out


def selector(config: Config, module: str, pair: str) -> Callable[[str], bool]:
    """Whether a check of this pair is selected by --select (every check when none is given)."""
    if not config.select:
        return lambda check: True

    def selected(check: str) -> bool:
        ids = (f"{module}::{pair}::{check}", f"{pair}::{check}", pair, check, f"{module}::{pair}",
               module)
        return any(i == g or fnmatch.fnmatchcase(i, g.replace("[", "[[]")) for g in config.select
                   for i in ids)
    return selected


def make_plan(config: Config) -> Plan:
    files = find_modules(config.paths)
    if not files and not config.allow_empty:
        raise UsageError(f"no equiv_*.py modules under {', '.join(config.paths)} "
                         "(pass --allow-empty to accept that)")
    modules = tuple(read_module(f) for f in files)
    # Every option file is read and every destination proved before any worker starts: an error
    # found after an hour of pairs would lose them.
    if not config.listing:
        check_distinct((Output("--junit-xml", config.junit_xml), Output("--html", config.html),
                        Output("--timings", None if config.record_out else config.timings),
                        Output("--margins", config.margins),
                        Output("--artifacts", config.artifacts, folder=True),
                        Output("--out", config.record_out, folder=True)))
    if config.timings and not config.listing and not config.record_out:
        check_rewritten_file("--timings", config.timings, [m.path for m in modules],
                             "the module being checked")
    timings = read_timings(config.timings)
    if config.margins:
        check_rewritten_file("--margins", config.margins, [m.path for m in modules],
                             "the module being checked")
        read_margins(config.margins)
    if config.junit_xml:
        check_report_path("--junit-xml", config.junit_xml, [m.path for m in modules],
                          "the module being checked")
    if config.html:
        check_report_path("--html", config.html, [m.path for m in modules],
                          "the module being checked")
    broken = tuple(module_error(m.display, m.error, m.error_line) for m in modules if m.error)
    pairs = [p for module in modules for p in plan_module(config, module, module.pairs)]
    if config.shard:
        shards = assign_shards([p.id for p in pairs], config.shard[1], timings)
        pairs = [p for p in pairs if shards[p.id] == config.shard[0]]
    to_collect = tuple(m for m in modules if not m.error and not m.pairs)
    if config.select and not pairs and not broken and not to_collect:
        raise UsageError(f"--select {' '.join(config.select)} matches no pair or check")
    if config.artifacts:
        artifacts.prepare(config.artifacts)
    store = None
    if config.record_out:
        store = Store(config.record_out, create=True)
    elif config.against:
        store = Store(config.against)
    return Plan(modules, tuple(pairs), broken, to_collect, store)


def plan_module(config: Config, module: Module, declared: Sequence[DeclaredPair]) -> list[PlannedPair]:
    """The selected checks of each declared pair. Only --select leaves a pair out: a `checks`
    field that selects nothing plans every check that applies, each to report the field's error."""
    out = []
    for pair in declared:
        problems: list[str] = []
        if "planned" in pair.literals:       # found at run time: the worker planned its checks
            planned = [tuple(c) for c in pair.literals["planned"]]
            problems = list(pair.literals.get("problems") or ())
        else:
            literal = pair.literals.get("checks")
            present = [s.field for s in checks_mod.TABLE if s.field and s.field in pair.fields
                       and pair.literals.get(s.field, "set") is not None]
            problems = checks_problems(literal)
            planned = planned_checks(literal, present)
        if problems and "skip" in pair.literals:
            # A bad field outranks `skip` (as the worker judges it): the worker must run to say so.
            pair = replace(pair, literals={k: v for k, v in pair.literals.items() if k != "skip"})
        selected = selector(config, module.display, pair.name)
        planned = [c for c in planned if selected(c[0])]
        if planned:
            out.append(PlannedPair(module, pair, tuple(planned), tuple(problems)))
    return out


def in_shard(config: Config, pair: PlannedPair) -> bool:
    """For pairs found at run time, which timings cannot place: by stable hash."""
    return not config.shard or shard_of(pair.id, config.shard[1]) == config.shard[0]


def discovered(config: Config, module: Module, runs: Mapping[str, SideRun]) -> list[PlannedPair]:
    """Pairs a worker found in the module at run time, planned like the declared ones."""
    event = next((r.find(ModulePairs) for r in runs.values() if r.find(ModulePairs)), None)
    if not event:
        return []
    found = [DeclaredPair(p["name"], int(p["line"]),
                          {"planned": p["settings"]["checks"], "skip": p["settings"]["skip"],
                           "timeout": p["settings"]["timeout"],
                           "problems": p["settings"].get("problems") or []}, frozenset())
             for p in event.pairs if str(p["name"]).isidentifier()]
    return [p for p in plan_module(config, module, found) if in_shard(config, p)]


def misnamed(module: Module, runs: Mapping[str, SideRun]) -> Optional[PairResult]:
    """An error for the pairs a module declares under names that are not Python identifiers
    (`globals()["../x"] = Pair(...)`): a pair's name becomes part of ids, reports and folders."""
    event = next((r.find(ModulePairs) for r in runs.values() if r.find(ModulePairs)), None)
    bad = [str(p["name"]) for p in (event.pairs if event else ())
           if not str(p["name"]).isidentifier()]
    if not bad:
        return None
    return module_error(module.display, f"{len(bad)} pairs have names that are not Python "
                        f"identifiers: {', '.join(map(repr, bad[:5]))}; name each pair by a "
                        "module-level variable (`name = tf_equiv.Pair(...)`). The module's other "
                        "pairs still run", 0)



def run_pair(planned: PlannedPair, config: Config, workdir: str, threads: int,
             stop: threading.Event, store: Optional[Store] = None, parts: int = 1,
             budget: Optional[artifacts.Budget] = None) -> tuple[PairResult, dict[str, SideRun]]:
    """Run one pair's sides and judge them; never raises. Returns (PairResult, side runs: their
    events; the files they wrote are gone).

    The pair's records, logs and explanation runs live in a folder of their own, deleted when the
    pair is done: a run of hundreds of pairs holds the files of the pairs in flight only."""
    if stop.is_set():
        return _all(planned, "error", "not run: interrupted"), {}
    # A pair's name is an identifier (discover and misnamed see to it); the prefix is only for a
    # person reading the temporary folder, so it is sanitised all the same.
    out_dir = tempfile.mkdtemp(
        prefix=f"{re.sub(r'[^A-Za-z0-9_]', '_', planned.declared.name)[:40]}-", dir=workdir)
    try:
        return _run_pair(planned, config, out_dir, threads, stop, store, parts, budget)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def _run_pair(planned: PlannedPair, config: Config, out_dir: str, threads: int,
              stop: threading.Event, store: Optional[Store], parts: int,
              budget: Optional[artifacts.Budget]) -> tuple[PairResult, dict[str, SideRun]]:
    module, declared = planned.module, planned.declared
    started = time.monotonic()
    timeout = declared.literals.get("timeout") or config.timeout
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        timeout = config.timeout
    skip = declared.literals.get("skip")
    if isinstance(skip, str):
        return _all(planned, "skipped", skip, named=False), {}
    runnable = [c for c, reason in planned.checks if reason is None]
    sides = () if not runnable else ("tf2",) if all(map(checks_mod.tf2_only, runnable)) \
        else ("tf1", "tf2")
    spec = SideSpec(module.path, declared.name, tuple(runnable), out_dir, float(timeout), threads,
                    config.compat_fixes, config.python, config.grappler_off,
                    tf1_optimized=config.tf1_optimized)
    runs: dict[str, SideRun] = {}
    stored: Optional[StoredTF1] = None
    kernels: Optional[KernelRun] = None
    try:
        if config.record_out:
            assert store is not None, "make_plan opens the store of record --out"
            result, recorded = record_pair(planned, spec, store, stop, parts)
            return replace(result, duration=time.monotonic() - started), {"tf1": recorded}
        if config.against and "tf1" in sides:
            assert store is not None, "make_plan opens the store of --against"
            stored, problem = stored_tf1(planned, store)
            if problem:
                return _all(planned, "error", problem), {}
        kernels = KernelRun(spec, () if stored else sides, stop, stored=stored is not None)
        early = EarlyComparisons(later=kernels.pending, release=(out_dir, runnable))
        if stored is not None:
            for _, event in stored["run"].events:  # compared as they arrive, as if run now
                early.on_event("tf1", event)
            runs = run_sides(spec, stop, ("tf2",), transfer=stored["transfer"], parts=parts,
                             listener=early.on_event)
            runs["tf1"] = stored["run"]
        else:
            runs = run_sides(spec, stop, sides, parts=parts,
                             listener=early.on_event) if sides else {}
        kernels.attach(runs)
        result = judge(module.display, declared.name, declared.line, planned.checks, runs,
                       early.results())
    except Exception as exc:  # a checker bug must not lose the other pairs' results
        if kernels is not None:
            kernels.close()
        return _all(planned, "error", f"internal error of tf-equiv: {type(exc).__name__}: {exc}",
                    format_exc()), runs
    # A training run that left its noise band is judged on its steps run from TF1's state.
    result = confirm_training(result, spec, runs, stop, float(timeout), out_dir,
                              stored=stored is not None)
    if stored is not None:
        result = check_inputs(result, stored, runs["tf2"])
    elif config.explain:
        try:
            result = explain(result, spec, runs, stop, float(timeout), out_dir)
        except Exception:  # an explanation is extra: the verdicts stand without it
            result = _note_all(result, "explanation failed: internal error of tf-equiv",
                               format_exc())
    if config.artifacts and budget is not None:
        try:
            artifacts.save_pair(config.artifacts, result, module.display, runs, budget,
                                _rerun_options(config))
        except Exception:  # the verdicts stand without their arrays
            result = _note_all(result, "--artifacts: saving the arrays failed",
                               format_exc())
    return replace(result, duration=time.monotonic() - started), runs


def _rerun_options(config: Config) -> tuple[str, ...]:
    """The options of this run that change the numbers, for the artifacts' re-run command."""
    options: list[str] = [f"--grappler-off={p}" for p in config.grappler_off]
    if config.tf1_optimized:
        options.append("--tf1-optimized")
    if not config.compat_fixes:
        options.append("--no-compat-fixes")
    if config.against:
        options.append(f"--against={config.against}")
    return tuple(options)


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
                   file=module.display, line=declared.line) for c, _ in planned.checks),
        line=declared.line)


def collect(module: Module, config: Config, workdir: str,
            stop: threading.Event) -> tuple[Optional[PairResult], dict[str, SideRun]]:
    """Import a module in a worker to list its pairs: (PairResult for an import error, runs)."""
    out_dir = tempfile.mkdtemp(prefix="collect-", dir=workdir)
    spec = SideSpec(module.path, "", (), out_dir, config.timeout, 1, config.compat_fixes,
                    config.python)
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
    running: dict[str, float] = {}

    def timed(planned: PlannedPair, *args: Any) -> tuple[PairResult, dict[str, SideRun]]:
        running[planned.id] = time.monotonic()
        try:
            return run_pair(planned, *args)
        finally:
            running.pop(planned.id, None)

    started = time.monotonic()
    previous: dict[signal.Signals, stopping.Handler] = {}
    if stop is None:
        stop = threading.Event()
        previous = stopping.install(stop)
    workdir = tempfile.mkdtemp(prefix="tf-equiv-")
    results = list(plan.broken)
    total = len(plan.pairs) + len(plan.broken)
    for i, broken in enumerate(plan.broken, 1):
        on_pair(broken, i, total)
    jobs = max(1, min(config.jobs, len(plan.pairs) + len(plan.to_collect) * config.jobs or 1))
    # Give every core a worker: when fewer sides run than there are cores (one pair, or only one
    # side with --against/record), a side's checks are split over two processes.
    cores = os.cpu_count() or 1
    sides = 1 if (config.record_out or config.against) else 2
    parts = max(1, min(2, cores // (jobs * sides)))
    threads = max(1, cores // (jobs * sides * parts))
    scheduled = {p.id for p in plan.pairs}
    budget = artifacts.Budget() if config.artifacts else None
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            # Each gives (a PairResult, or None for a module whose pairs a worker listed, runs).
            pending: dict[Future[tuple[Optional[PairResult], dict[str, SideRun]]], Module] = {
                pool.submit(timed, p, config, workdir, threads, stop, plan.store, parts,
                            budget): p.module for p in plan.pairs}
            pending.update({pool.submit(collect, m, config, workdir, stop): m
                            for m in plan.to_collect})
            misnamed_seen: set = set()
            while pending:
                # A timeout, so that the main thread wakes for a signal's handler at once.
                done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                if on_tick is not None:
                    on_tick(dict(running))
                for future in done:
                    module = pending.pop(future)
                    result, runs = future.result()
                    found = [result] if result is not None else []
                    total += result is not None and result.pair == "<module>" \
                        and module in plan.to_collect
                    bad = None if module.path in misnamed_seen else misnamed(module, runs)
                    if bad is not None:
                        misnamed_seen.add(module.path)
                        found.append(bad)
                        total += 1
                    for each in found:
                        results.append(each)
                        on_pair(each, len(results), total)
                    for extra in discovered(config, module, runs):
                        if extra.id not in scheduled:
                            scheduled.add(extra.id)
                            total += 1
                            pending[pool.submit(timed, extra, config, workdir, threads,
                                                stop, plan.store, parts, budget)] = module
    finally:
        stopping.restore(previous)
        shutil.rmtree(workdir, ignore_errors=True)
        if config.artifacts:
            artifacts.finish(config.artifacts)
    order = {m.display: i for i, m in enumerate(plan.modules)}
    results.sort(key=lambda r: (order.get(r.module, 0), r.pair != "<module>", r.line, r.pair))
    report = Report(tuple(results), time.monotonic() - started, interrupted=stop.is_set())
    errors: list[str] = []
    if config.timings and not config.record_out:
        try:
            write_timings(config.timings, report)
        except OSError as e:
            errors.append(f"--timings {config.timings}: could not be written: {e.strerror or e}")
    if config.margins and not config.record_out:
        last_run = read_margins(config.margins)
        report = warn_shrunk(report, last_run)
        try:
            write_margins(config.margins, report, last_run)
        except OSError as e:
            errors.append(f"--margins {config.margins}: could not be written: {e.strerror or e}")
    return replace(report, errors=tuple(errors)) if errors else report
