"""Why a check failed: the failing checks re-run under variations that change only numerics (oneDNN
off, CPU instead of GPU, and where graphs are optimized grappler passes off or the TF2 model in
tf.function), within the pair's timeout.

A check that passes under a variation diverged because of graph rewrites or kernels, not because
of the migration; one that fails under all of them points at the migrated code. A failure whose
cause the comparison already named (an unaligned initializer, records one side lacks, nothing
finite to compare) is not re-run: no variation of the numerics can change it.
"""
from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass, replace
from typing import Optional, Sequence

from tf_equiv.checks import SPECS, TABLE
from tf_equiv.diagnose.localize import Localization, localize
from tf_equiv.results import (
    CaseResult,
    PairResult,
    appended,
    explanation_words,
    own_words,
    short,
)
from tf_equiv.run.sides import SideSpec, run_sides
from tf_equiv.verdict.judge import judge

#: The grappler passes that change float results (fold constants, reassociate, fuse kernels).
NUMERIC_PASSES = ("arithmetic_optimization", "constant_folding", "remapping", "layout_optimizer")
#: Below this many seconds left, a variation is not started.
MIN_SECONDS = 5.0
#: The check whose TF2 model runs in tf.function: re-run, it tells whether TF1's graph
#: optimizations explain a failure of a check run eagerly on the TF2 side.
GRAPH_TWIN = next(s.id for s in TABLE if s.graph_optimized)


@dataclass(frozen=True)
class Variation:
    name: str
    label: str                 # "with grappler constant_folding off"
    meaning: str               # what passing under it says
    hint: str
    grappler_off: tuple = ()
    env: tuple = ()
    #: Only the TF1 side changes (grappler does not touch eager ops): its new records are compared
    #: with the TF2 side's of the run being explained.
    tf1_only: bool = False
    #: The checks it can explain (None: every one).
    applies: Optional[frozenset] = None


def variations(result: PairResult, failing: list[CaseResult], spec: SideSpec) -> list[Variation]:
    """The variations that can change the failing checks' numbers in this run: grappler only
    where a graph was optimized (tf_function; every TF1 check with --tf1-optimized)."""
    env, numerics = result.environment, spec.options.numerics
    optimized = frozenset(c.check for c in failing
                          if SPECS[c.check].graph_optimized or numerics.tf1_optimized)
    found = []
    if optimized:
        found.append(Variation(
            "grappler", f"with grappler {', '.join(NUMERIC_PASSES)} off",
            "graph-rewrite numerics of the optimized graphs, not a migration bug",
            "the other checks compare like with like; run with {passes}, or set a tolerance of "
            "rtol={rtol}",
            grappler_off=tuple(dict.fromkeys(numerics.grappler_off + NUMERIC_PASSES)),
            tf1_only=numerics.tf1_optimized and GRAPH_TWIN not in optimized, applies=optimized))
    twinned = frozenset(c.check for c in failing if SPECS[c.check].tf1_optimized_twin)
    if numerics.tf1_optimized and twinned:
        found.append(Variation("tf_function", "with the TF2 model in tf.function",
                               "the graph optimizations TF1 applies explain the difference, not a "
                               "migration bug", "drop --tf1-optimized to compare like with like, "
                               "or set a tolerance of rtol={rtol}",
                               applies=twinned))
    if env.get("onednn") != "0":
        found.append(Variation("onednn", "with oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)",
                               "oneDNN kernel numerics, not a migration bug",
                               "run the check with TF_ENABLE_ONEDNN_OPTS=0 or set a tolerance of "
                               "rtol={rtol}", env=(("TF_ENABLE_ONEDNN_OPTS", "0"),)))
    if "GPU" in env.get("device", ""):
        found.append(Variation("cpu", "on CPU (CUDA_VISIBLE_DEVICES=-1)",
                               "GPU kernel numerics, not a migration bug",
                               "compare on CPU or set a tolerance of rtol={rtol}",
                               env=(("CUDA_VISIBLE_DEVICES", "-1"),)))
    return found


def _rerun(spec: SideSpec, result: PairResult, runs: dict, checks: tuple, variation: Variation,
           stop: threading.Event, deadline: float, workdir: str) -> dict:
    """{check: CaseResult} of `checks` under the variation ({} when no time was left)."""
    if deadline - time.monotonic() < MIN_SECONDS or stop.is_set():
        return {}
    options = spec.options
    if variation.grappler_off:
        options = replace(options, numerics=replace(options.numerics,
                                                     grappler_off=variation.grappler_off))
    run_spec = replace(spec, checks=checks, out_dir=tempfile.mkdtemp(prefix="explain-",
                                                                     dir=workdir),
                       options=options, env=spec.env + variation.env, deadline=deadline, any_check=True)
    if variation.tf1_only and GRAPH_TWIN not in checks and "tf2" in runs:
        rerun = {**run_sides(run_spec, stop, ("tf1",)), "tf2": runs["tf2"]}
    else:
        rerun = run_sides(run_spec, stop)
    judged = judge(result.module, result.pair, result.line, [(c, None) for c in checks], rerun,
                   own_plan=False)
    return {c.check: c for c in judged.cases}


def _fewest_passes(spec: SideSpec, result: PairResult, runs: dict, checks: tuple,
                   variation: Variation, stop: threading.Event, deadline: float,
                   workdir: str) -> tuple:
    """The smallest set of NUMERIC_PASSES whose removal still makes `checks` pass: each pass is
    dropped in turn and kept off only when the checks fail without it."""
    needed = list(NUMERIC_PASSES)
    for name in NUMERIC_PASSES:
        trial = [p for p in needed if p != name]
        if not trial:
            break
        ran = _rerun(spec, result, runs, checks,
                     replace(variation,
                             grappler_off=spec.options.numerics.grappler_off + tuple(trial)),
                     stop, deadline, workdir)
        if not ran:
            return tuple(needed)          # out of time: what is known so far
        if all(ran.get(c) and ran[c].verdict == "passed" for c in checks):
            needed = trial
    return tuple(needed)


def _needed_rtol(case: CaseResult) -> str:
    needed = [r.needed_rtol for r in case.records if not r and not r.problem]
    return short(max(needed) * 1.1) if needed else "?"


def explain(result: PairResult, spec: SideSpec, runs: dict, stop: threading.Event,
            seconds: float, workdir: str) -> PairResult:
    """The result with an explanation added to each failed numeric check; at most `seconds`
    spent. (A training run's steps, run from TF1's state, are part of its verdict:
    verdict/steps.py.)"""
    failing = [c for c in result.cases
               if c.verdict == "failed" and c.check in SPECS and SPECS[c.check].explain and not c.cause]
    if not failing or stop.is_set():
        return result
    started = time.monotonic()
    deadline = started + seconds
    checks = tuple(c.check for c in failing)
    found: dict = {c.check: [] for c in failing}      # check -> [(Variation, CaseResult | None)]
    culprit: dict = {}                                  # check -> the grappler passes to blame
    have_twin = {c.check: c for c in result.cases if c.check == GRAPH_TWIN}
    # Where the outputs part first. When the graphs differ there, no numeric variation can make
    # the checks pass, and none is run (each would cost a re-run of the pair).
    located = _localize(spec, failing, checks, deadline, workdir, stop)
    structural = next((loc.structural for loc in located.values() if loc.structural), "")
    # A check explained by one variation is not re-run under the next ones.
    unexplained = list(checks)
    for variation in [] if structural else variations(result, failing, spec):
        if variation.name == "tf_function":
            targets = tuple(c for c in unexplained if c in (variation.applies or ()))
            if not targets:
                continue
            twin: dict = have_twin or _rerun(spec, result, runs, (GRAPH_TWIN,), variation,
                                             stop, deadline, workdir)
            ran: dict = {c: twin.get(GRAPH_TWIN) for c in targets}
        elif unexplained:
            targets = tuple(c for c in unexplained
                            if variation.applies is None or c in variation.applies)
            if not targets:
                continue
            ran = _rerun(spec, result, runs, targets, variation, stop, deadline, workdir)
        else:
            break
        for check in list(unexplained):
            if variation.applies is not None and check not in variation.applies:
                continue
            if check not in ran and variation.name == "tf_function":
                continue
            found[check].append((variation, ran.get(check)))
            if ran.get(check) and ran[check].verdict == "passed":
                unexplained.remove(check)
        passing = tuple(c for c in checks if ran.get(c) and ran[c].verdict == "passed")
        if variation.name == "grappler" and passing:
            fewest = _fewest_passes(spec, result, runs, passing, variation, stop, deadline,
                                    workdir)
            culprit.update({c: fewest for c in passing})
    took = time.monotonic() - started
    shared = _shared(failing, located)
    cases = tuple(_explained(c, found[c.check], culprit.get(c.check), seconds, took,
                             shared.get(c.check) if c.check in unexplained else None, structural)
                  if c.check in found else c for c in result.cases)
    return replace(result, cases=cases, duration=result.duration + took)


def _localize(spec: SideSpec, failing: list, unexplained: Sequence[str], deadline: float,
              workdir: str, stop: threading.Event) -> dict:
    """{check: Localization} for the first of `unexplained` whose outputs diverge: the first op
    inside the graph that differs, and whether that block or the errors upstream are to blame."""
    candidates = [c for c in failing if c.check in unexplained and SPECS[c.check].weights
                  and any(r.name.startswith("outputs") and not r for r in c.records)]
    candidates.sort(key=lambda c: SPECS[c.check].localize_order)
    left = deadline - time.monotonic()
    if not candidates or left < MIN_SECONDS or stop.is_set():
        return {}
    # One localization where the checks' divergences agree (the same first divergent output),
    # one more for a check whose outputs part elsewhere.
    found: dict = {}
    for case in candidates:
        left = deadline - time.monotonic()
        if left < MIN_SECONDS or stop.is_set() or len(found) == 2:
            break
        if any(_first_output(case) == _first_output(other) for other in failing
               if other.check in found):
            continue
        out_dir = tempfile.mkdtemp(prefix="localize-", dir=workdir)
        found[case.check] = localize(spec.module, spec.pair, case.check, out_dir, left,
                                     spec.options, spec.python, stop, spec.env,
                                     spec.tf1_python)
    return found


def _first_output(case: CaseResult) -> str:
    return next((r.name for r in case.records if r.name.startswith("outputs") and not r), "")


def _shared(failing: list, located: dict) -> dict:
    """{check: (Localization, the check it was run for)} for every failing check whose first
    divergent output is the one a localization was run for."""
    by_output = {_first_output(c): (located[c.check], c.check) for c in failing
                 if c.check in located}
    return {c.check: by_output[_first_output(c)] for c in failing
            if _first_output(c) and _first_output(c) in by_output}


def _explained(case: CaseResult, tried: list, culprit: Optional[tuple], seconds: float,
               took: float, shared: Optional[tuple[Localization, str]] = None,
               structural: str = "") -> CaseResult:
    located, localized_for = shared if shared else (None, "")
    lines = []
    for variation, outcome in tried:
        label = variation.label
        if variation.name == "grappler" and culprit:
            label = f"with grappler {' and '.join(culprit)} off"
        if outcome is None:
            lines.append(f"{label}: not run (the explanation's {seconds:g} s were spent)")
        elif outcome.verdict == "passed":
            lines.append(f"{label}: passes")
        elif outcome.timed_out:
            lines.append(f"{label}: timed out (the explanation is bounded by the pair's "
                         f"timeout, {seconds:g} s)")
        else:
            lines.append(f"{label}: {outcome.verdict}: {own_words(outcome)}")
    finding, hint = _finding(case, tried, culprit, lines, structural)
    if structural:
        lines.append(f"numeric variations: not run: {structural}")
    elif not any(v.name == "cpu" for v, _ in tried):
        lines.append("CPU vs GPU: not compared (no GPU on this machine)")
    detail = "\n".join([f"explanation ({took:.1f} s):"] + [f"  {line}" for line in lines])
    explanation = explanation_words(finding, hint)
    said = explanation
    if located is not None and localized_for == case.check:
        said += f". Localization: {located.message}"
        # The arrays it names live in the run's temporary folder: not worth a line here.
        kept = [line for line in located.detail.rstrip().splitlines()
                if not line.startswith("the arrays of both sides at ")]
        if kept:
            detail += "\n\nlocalization:\n" + "\n".join(kept)
    elif located is not None and located.place:
        # The same first divergent output: the same place, found once for the pair.
        said += f". Localization (run for {localized_for}, whose outputs part at the same " \
            f"record): {located.place}"
    return replace(appended(case, f". {said}"),
                   detail=f"{case.detail}\n\n{detail}".strip(), explanation=explanation,
                   finding=finding, next_step=hint, explanation_detail=detail,
                   place=located.place if located is not None else "",
                   block=located.block if located is not None else "")


def _finding(case: CaseResult, tried: list, culprit: Optional[tuple], lines: list[str],
             structural: str) -> tuple[str, str]:
    """(what the variations tried say, what to do about it) for a failing check."""
    passed_under = [v for v, outcome in tried if outcome is not None and outcome.verdict == "passed"]
    if structural:
        return (f"the graphs differ where the sides part ({structural}): no numeric variation "
                "changes which ops run, so none was tried; likely a migration bug", "")
    if passed_under:
        variation = passed_under[0]
        label = f"with grappler {' and '.join(culprit)} off" \
            if variation.name == "grappler" and culprit else variation.label
        passes = " ".join(f"--grappler-off {p}" for p in (culprit or NUMERIC_PASSES))
        return (f"passes {label}: {variation.meaning}",
                variation.hint.format(passes=passes, rtol=_needed_rtol(case)))
    if all(outcome is not None and outcome.verdict == "failed" for _, outcome in tried):
        labels = [v.label for v, _ in tried]
        if not any(v.name == "grappler" for v, _ in tried):
            labels.append("the TF1 graph unoptimized, like the eager TF2 side")
        return ("still fails " + "; ".join(labels)
                + ": not graph rewrites or kernel numerics; likely a migration bug", "")
    return "inconclusive (" + "; ".join(lines) + ")", ""
