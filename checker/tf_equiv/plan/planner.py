"""Which pairs and checks a run runs: the modules found, each pair's checks narrowed by --select,
the shard's share, and every file and folder the run reads or writes proved usable before any
worker starts (an error found after an hour of pairs would lose them). No TensorFlow here."""
from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence

from tf_equiv import checks
from tf_equiv.diagnose import artifacts
from tf_equiv.errors import UsageError
from tf_equiv.pair import checks_problems, planned_checks
from tf_equiv.plan.destinations import (
    Output,
    check_distinct,
    check_report_path,
    check_rewritten_file,
)
from tf_equiv.plan.discover import DeclaredPair, Module, PlannedPair, find_modules, read_module
from tf_equiv.plan.shards import assign_shards, read_timings, shard_of
from tf_equiv.protocol.requests import RunOptions
from tf_equiv.protocol.settings import PairSettings
from tf_equiv.results import PairResult
from tf_equiv.run.protocol import ModulePairs
from tf_equiv.run.sides import SideRun
from tf_equiv.run.store import Store
from tf_equiv.verdict.history import read_margins
from tf_equiv.verdict.judge import module_error


@dataclass(frozen=True)
class Config:
    """Everything a run needs, built by the CLI (or tests) and never changed."""

    paths: tuple[str, ...] = (".",)
    junit_xml: Optional[str] = None
    select: tuple[str, ...] = ()
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: float = 900.0
    shard: Optional[tuple[int, int]] = None  # (index, count), 1-based
    allow_empty: bool = False
    against: Optional[str] = None          # compare with stored TF1 records instead of running TF1
    record_out: Optional[str] = None       # store the TF1 side's records instead of comparing
    python: str = sys.executable           # the interpreter of the workers (record: legacy TF)
    #: The TF1-side workers' interpreter where it is another (`--tf1-python`, resolved by
    #: plan/interpreters.py); None: `python`.
    tf1_python: Optional[str] = None
    timings: Optional[str] = None          # JSON {pair id: seconds}, read for --shard, then updated
    listing: bool = False                  # `list`: plan only, write nothing
    margins: Optional[str] = None          # JSON {case id: margin}, warned against, then updated
    html: Optional[str] = None             # the self-contained HTML report
    explain: bool = True                   # re-run failed checks under numeric variations
    #: What every worker of the run is told (numerics, compatibility fixes); the engine sets
    #: the threads each side process may use.
    options: RunOptions = RunOptions()
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
    """The run's plan; raises UsageError (exit 2) before any worker starts."""
    files = find_modules(config.paths)
    if not files and not config.allow_empty:
        raise UsageError(f"no equiv_*.py modules under {', '.join(config.paths)} "
                         "(pass --allow-empty to accept that)")
    modules = tuple(read_module(f) for f in files)
    timings = _check_destinations(config, [m.path for m in modules])
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
    return Plan(modules, tuple(pairs), broken, to_collect, _open_store(config))


def _check_destinations(config: Config, sources: list[str]) -> dict[str, float]:
    """Every option file read and every destination proved writable, none over a module;
    returns the timings read."""
    if not config.listing:
        check_distinct((Output("--junit-xml", config.junit_xml), Output("--html", config.html),
                        Output("--timings", None if config.record_out else config.timings),
                        Output("--margins", config.margins),
                        Output("--artifacts", config.artifacts, folder=True),
                        Output("--out", config.record_out, folder=True)))
    what = "the module being checked"
    if config.timings and not config.listing and not config.record_out:
        check_rewritten_file("--timings", config.timings, sources, what)
    timings = read_timings(config.timings)
    if config.margins:
        check_rewritten_file("--margins", config.margins, sources, what)
        read_margins(config.margins)
    if config.junit_xml:
        check_report_path("--junit-xml", config.junit_xml, sources, what)
    if config.html:
        check_report_path("--html", config.html, sources, what)
    return timings


def _open_store(config: Config) -> Optional[Store]:
    if config.record_out:
        return Store(config.record_out, create=True)
    if config.against:
        return Store(config.against)
    return None


def plan_module(config: Config, module: Module, declared: Sequence[DeclaredPair]) -> list[PlannedPair]:
    """The selected checks of each declared pair. Only --select leaves a pair out: a `checks`
    field that selects nothing plans every check that applies, each to report the field's error."""
    out = []
    for pair in declared:
        if pair.settings is not None:       # found at run time: the worker planned its checks
            planned = list(pair.settings.checks)
            problems = list(pair.settings.problems)
        else:
            literal = pair.literals.get("checks")
            present = [s.field for s in checks.TABLE if s.field and s.field in pair.fields
                       and pair.literals.get(s.field, "set") is not None]
            problems = checks_problems(literal)
            planned = planned_checks(literal, present, pair.tf1_loaded)
        if problems:
            pair = pair.without_skip()
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
    found = [DeclaredPair(p["name"], int(p["line"]), settings=PairSettings.of(p["settings"]))
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
