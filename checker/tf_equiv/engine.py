"""discover -> plan (pairs x checks) -> run each pair's sides -> judge -> Report.

The engine never imports TensorFlow or user code; it reads declarations statically and leaves the
rest to the workers. Every pair yields a result, even when the checker is interrupted.
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import signal
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Callable, Optional

from tf_equiv import checks as checks_mod
from tf_equiv.discover import DeclaredPair, Module, find_modules, read_module
from tf_equiv.errors import UsageError
from tf_equiv.judge import TF2_ONLY, judge, module_error
from tf_equiv.results import CaseResult, PairResult, Report
from tf_equiv.runner import SideSpec, run_sides


@dataclass(frozen=True)
class Config:
    """Everything a run needs, built by the CLI (or tests) and never changed."""

    paths: tuple = (".",)
    junit_xml: Optional[str] = None
    select: tuple = ()
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: float = 900.0
    shard: Optional[tuple] = None          # (index, count), 1-based
    compat_fixes: bool = True
    allow_empty: bool = False


@dataclass(frozen=True)
class PlannedPair:
    module: Module
    declared: DeclaredPair
    checks: tuple                          # ((check, skip reason or None), ...)

    @property
    def id(self) -> str:
        return f"{self.module.display}::{self.declared.name}"


@dataclass(frozen=True)
class Plan:
    modules: tuple
    pairs: tuple
    broken: tuple                          # PairResult per unreadable module


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


def shard_of(pair_id: str, count: int) -> int:
    """A 1-based shard for a pair, stable across machines and Python versions."""
    digest = hashlib.sha256(pair_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def make_plan(config: Config) -> Plan:
    files = find_modules(config.paths)
    if not files and not config.allow_empty:
        raise UsageError(f"no equiv_*.py modules under {', '.join(config.paths)} "
                         "(pass --allow-empty to accept that)")
    modules = tuple(read_module(f) for f in files)
    broken = tuple(module_error(m.display, m.error, m.error_line) for m in modules if m.error)
    pairs = []
    for module in modules:
        for declared in module.pairs:
            literal = declared.literals.get("checks") if "checks" in declared.literals else None
            present = [f for f in ("optimizers", "checkpoint")
                       if f in declared.fields and declared.literals.get(f, "set") is not None]
            try:
                planned = checks_mod.plan(literal, present)
            except TypeError:        # not a sequence of strings: the worker names the field
                planned = checks_mod.plan(None, present)
            selected = selector(config, module.display, declared.name)
            planned = [c for c in planned if selected(c[0])]
            if planned:
                pairs.append(PlannedPair(module, declared, tuple(planned)))
    if config.shard:
        index, count = config.shard
        pairs = [p for p in pairs if shard_of(p.id, count) == index]
    if config.select and not pairs and not broken:
        raise UsageError(f"--select {' '.join(config.select)} matches no pair or check")
    return Plan(modules, tuple(pairs), broken)


def _interrupted(planned: PlannedPair) -> PairResult:
    cases = tuple(CaseResult(planned.module.display, planned.declared.name, c, "error",
                             f"{c}: not run: interrupted", file=planned.module.display,
                             line=planned.declared.line) for c, _ in planned.checks)
    return PairResult(planned.module.display, planned.declared.name, cases,
                      line=planned.declared.line)


def run_pair(planned: PlannedPair, config: Config, workdir: str, threads: int,
             stop: threading.Event) -> PairResult:
    """Run one pair's sides and judge them; never raises."""
    module, declared = planned.module, planned.declared
    if stop.is_set():
        return _interrupted(planned)
    started = time.monotonic()
    out_dir = tempfile.mkdtemp(prefix=f"{declared.name[:40]}-", dir=workdir)
    timeout = declared.literals.get("timeout") or config.timeout
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        timeout = config.timeout
    skip = declared.literals.get("skip")
    if isinstance(skip, str):
        return PairResult(module.display, declared.name, tuple(
            CaseResult(module.display, declared.name, c, "skipped", skip, file=module.display,
                       line=declared.line) for c, _ in planned.checks), line=declared.line)
    runnable = [c for c, reason in planned.checks if reason is None]
    sides = () if not runnable else ("tf2",) if set(runnable) <= TF2_ONLY else ("tf1", "tf2")
    spec = SideSpec(module.path, declared.name, tuple(runnable), out_dir, float(timeout), threads,
                    config.compat_fixes)
    try:
        runs = run_sides(spec, stop, sides) if sides else {}
        result = judge(module.display, declared.name, declared.line, planned.checks, runs,
                       selector(config, module.display, declared.name))
    except Exception as exc:  # a checker bug must not lose the other pairs' results
        cases = tuple(CaseResult(module.display, declared.name, c, "error",
                                 f"{c}: internal error of tf-equiv: {type(exc).__name__}: {exc}",
                                 detail=traceback.format_exc(), file=module.display,
                                 line=declared.line)
                      for c, _ in planned.checks)
        return PairResult(module.display, declared.name, cases, line=declared.line)
    return replace(result, duration=time.monotonic() - started)


def run(config: Config, plan: Plan, on_pair: Callable[[PairResult, int, int], None]) -> Report:
    """Run every planned pair, up to `config.jobs` at once; SIGINT/SIGTERM stop the run cleanly."""
    started = time.monotonic()
    stop = threading.Event()
    previous = _install_stop_handlers(stop)
    workdir = tempfile.mkdtemp(prefix="tf-equiv-")
    results = list(plan.broken)
    total = len(plan.pairs) + len(plan.broken)
    for i, broken in enumerate(plan.broken, 1):
        on_pair(broken, i, total)
    jobs = max(1, min(config.jobs, len(plan.pairs) or 1))
    threads = max(1, (os.cpu_count() or 1) // (2 * jobs))
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(run_pair, p, config, workdir, threads, stop) for p in plan.pairs]
            for future in as_completed(futures):
                results.append(future.result())
                on_pair(results[-1], len(results), total)
    finally:
        _restore_handlers(previous)
        shutil.rmtree(workdir, ignore_errors=True)
    order = {p.id: i for i, p in enumerate(plan.pairs)}
    results.sort(key=lambda r: (r.pair != "<module>", order.get(f"{r.module}::{r.pair}", 0)))
    return Report(tuple(results), time.monotonic() - started, interrupted=stop.is_set())


def _install_stop_handlers(stop: threading.Event) -> dict:
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda *_: stop.set())
    return previous


def _restore_handlers(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
