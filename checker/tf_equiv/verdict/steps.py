"""A training run that left its noise band, judged step by step from TF1's state. No TensorFlow
here.

The free runs of a correct migration can part: a ReLU or max-pool threshold flips one ulp earlier
on one side, training amplifies it, and the one-ulp noise run need not hit the same flip. Leaving
the band alone therefore does not decide. From the last recorded step where the sides were inside
it to the last step of the run, each step is run again on both sides from TF1's state
(run/kernels.run_steps, worker/bisect.py) and compared with that one step's own noise. A step that
already differs from the same state is wrong in what one step computes (the optimizer update, a
schedule, a batch-norm update, a regularizer that counts twice): the check fails where the free
runs left the band, naming that step. When every step agrees, the sides part by round-off that
training amplified: the check passes, with a warning that says where the free runs parted. When
the steps cannot be run (against stored records, a timeout), the check fails as the free runs
say, and says why it was not confirmed.
"""
from __future__ import annotations

import math
import threading
from dataclasses import replace
from typing import Any, Mapping, Optional

from tf_equiv.ast_lock import format_exc
from tf_equiv.protocol.settings import PairSettings
from tf_equiv.results import (
    CaseResult,
    PairResult,
    appended,
    apply_marks,
    explanation_words,
    own_words,
    short,
    unmarked,
)
from tf_equiv.run.kernels import Steps, run_steps
from tf_equiv.run.protocol import Environment, Transfer
from tf_equiv.run.sides import SideRun, SideSpec
from tf_equiv.verdict.judge import settings_of
from tf_equiv.verdict.training import CHECK, loss_band, times, window

#: Why the steps tell what the free runs cannot, in the words of a failure that was not confirmed.
WHY = ("each step run again on both sides from TF1's state tells a wrong step from round-off "
       "that training amplified")


def confirm_training(result: PairResult, spec: SideSpec, runs: Mapping[str, SideRun],
                     stop: threading.Event, seconds: float, workdir: str,
                     stored: bool = False) -> PairResult:
    """The result with a training run that left its band judged on its steps run from TF1's
    state (within `seconds`); `stored`: TF1's records are stored ones. Never raises."""
    settings = settings_of(runs) or PairSettings()
    xfail = settings.xfail
    case = next((c for c in result.cases if c.check == CHECK and not c.cause
                 and c.verdict in ("failed", "xfailed")), None)
    if case is None:
        return result
    free = case if case.verdict == "failed" else unmarked(case, xfail)
    try:
        span = _span(runs, settings)
        if span is None:            # not a departure from the band: a loss not finite, say
            return result
        steps = _run(spec, runs, settings, span, stop, seconds, workdir, stored)
    except Exception as exc:  # the free runs' verdict stands, and says why it was not confirmed
        span = (0, 0)
        steps = Steps(problem=f"internal error of tf-equiv: {type(exc).__name__}: {exc}",
                      detail=format_exc())
    judged = judge_steps(free, span[0], _last(settings, span), steps)
    if case.verdict == "xfailed":
        judged = apply_marks(judged, xfail)
    return replace(result, cases=tuple(judged if c is case else c for c in result.cases),
                   duration=result.duration + steps.seconds)


def _last(settings: PairSettings, span: tuple[int, int]) -> int:
    """The last step to run: to the end of the run, not only to where the free runs left the
    band, since a step after it can be wrong too, and a pass says that every step agrees."""
    return settings.train.steps if settings.train else span[1]


def _span(runs: Mapping[str, SideRun], settings: PairSettings) -> Optional[tuple[int, int]]:
    tf1 = runs["tf1"].check(CHECK, ok=True) if "tf1" in runs else None
    tf2 = runs["tf2"].check(CHECK, ok=True) if "tf2" in runs else None
    return window(tf1, tf2, settings) if tf1 is not None and tf2 is not None else None


def _run(spec: SideSpec, runs: Mapping[str, SideRun], settings: PairSettings,
         span: tuple[int, int], stop: threading.Event, seconds: float, workdir: str,
         stored: bool) -> Steps:
    if stored:
        # Its TF1 steps would run under this TensorFlow, not the one the records were made with:
        # they would prove nothing about the version the records stand for.
        return Steps(problem="the steps run both sides in one process under this TensorFlow, "
                             "so they are not run against stored TF1 records",
                     hint="check without --against to tell a wrong step from amplified round-off")
    if spec.cross_version:
        return Steps(problem=f"the steps run both sides in one process, and {two_versions(runs)}",
                     hint="check the pair with both sides under one TensorFlow (without "
                          "--tf1-python; a tf_equiv.ModelFn pair needs one with tf.estimator, "
                          "<= 2.15) to tell a wrong step from amplified round-off")
    tf1 = runs["tf1"].check(CHECK, ok=True)
    transfer = runs["tf1"].find(Transfer)
    if tf1 is None or not tf1.file or transfer is None or not transfer.file \
            or not transfer.batches:
        return Steps(problem="the TF1 side kept no initial values or batches to start them from")
    factor, floor, atol = loss_band(settings)
    return run_steps(spec, tf1.file, transfer, span[0], _last(settings, span), floor, factor, atol,
                     stop, seconds, workdir)


def two_versions(runs: Mapping[str, SideRun]) -> str:
    """Which TensorFlow each side ran under (--tf1-python), in words."""
    def version(side: str) -> str:
        said = runs[side].find(Environment) if side in runs else None
        return (said.environment if said else {}).get("tensorflow", "unknown")
    return (f"the TF1 side runs under TensorFlow {version('tf1')} (--tf1-python), the TF2 side "
            f"under TensorFlow {version('tf2')}")


def judge_steps(case: CaseResult, first: int, last: int, steps: Steps) -> CaseResult:
    """The verdict of a training run whose free runs left the band (`case`, failed), on its steps
    `first`..`last` run from TF1's state: passed when every step agrees within its own noise,
    failed naming the first that does not, or failed as the free runs say when the steps did not
    run (saying why)."""
    found = steps.found
    header = f"step by step from TF1's state ({steps.seconds:.1f} s):"
    if found is None:
        lines = [f"not run: {steps.problem}"] + (steps.detail.splitlines() if steps.detail else [])
        return _with(case, f"not confirmed step by step ({WHY}): {steps.problem}", steps.hint,
                     header, lines)
    words, hint, line = describe(found)
    if found.get("wrong") and case.hint:
        # The optimizers' difference the comparison named (verdict/optimizers.py) is a surer
        # hint than the settings to compare: said once, after the step it explains.
        return _with(replace(case, message=f"{CHECK}: {case.statement}", words=case.statement,
                             hint=""), words, case.hint, header, [line])
    if found.get("wrong"):
        return _with(case, words, hint, header, [line])
    first, last = int(found.get("first", first)), int(found.get("last", last))
    worst = found.get("worst") or {}
    divergence, band = float(worst.get("divergence", 0.0)), float(worst.get("band", 0.0))
    margin = band / divergence if divergence > 0 else math.inf
    closest = (f"closest: {_record(worst.get('record'))} at step {worst.get('step')}, divergence "
               f"{short(divergence)} against a band of {short(band)}, margin {times(margin)}x"
               if divergence > 0 else "the sides are equal at every step, margin inf")
    before = f"; steps 1 to {first - 1} inside the noise band of the free runs" if first > 1 \
        else ""
    statement = (f"every step agrees within its own noise: steps {first} to {last}, each run on "
                 f"both sides from TF1's state ({closest}){before}")
    departure = case.statement or own_words(case)
    warning = (f"{CHECK}: the free runs part by round-off that training amplifies: {departure}; "
               f"yet each of steps {first} to {last}, run on both sides from TF1's state, agrees "
               "within that step's noise, so this is not a migration bug")
    return replace(case, verdict="passed", message=f"{CHECK}: {statement}", words=statement,
                   margin=margin, explanation="", finding="", next_step="", statement=statement,
                   hint="",
                   warnings=case.warnings + (warning,),
                   detail=f"{case.detail}\n\n{header}\n  {line}".strip())


def _with(case: CaseResult, finding: str, hint: str, header: str, lines: list[str]
          ) -> CaseResult:
    """A failed case that keeps its verdict, with what the steps found as its explanation."""
    body = "\n".join(f"  {line}" for line in lines)
    explanation = explanation_words(finding, hint)
    return replace(appended(case, f". {explanation}"), explanation=explanation,
                   finding=finding, next_step=hint,
                   detail=f"{case.detail}\n\n{header}\n{body}".strip())


def describe(found: Mapping[str, Any]) -> tuple[str, str, str]:
    """What the step-wise run found, in words: a sentence for the message, its hint (or ""), a
    line for the detail."""
    unpaired = found.get("unpaired") or []
    carried = (f" (TF2's optimizer slots {', '.join(unpaired)} have no TF1 counterpart, so the "
               "steps started at step 1)") if unpaired else ""
    wrong = found.get("wrong")
    if not wrong:
        return ("every step agrees", "",
                f"steps {found.get('first')}..{found.get('last')} re-run from TF1's state each; "
                f"none differs{carried}")
    loss1, loss2 = found["loss"]
    record = found["record"]
    what = "its loss" if record == "the loss" else record
    return (f"step {wrong} is wrong: run on both sides from TF1's state after step "
            f"{wrong - 1}, one step already differs at {what} (divergence "
            f"{short(found['divergence'])}, that step's noise band {short(found['band'])}); "
            f"loss TF1 {loss1:.6g}, TF2 {loss2:.6g}; likely a migration bug in what one step "
            "computes",
            "compare the two sides' optimizer settings (learning rate and its schedule's step "
            "count, epsilon, momentum), batch-norm momentum and regularization losses",
            f"steps {found['first']}..{wrong} re-run from TF1's state each; step {wrong} "
            f"differs first{carried}")


def _record(name: Any) -> str:
    return "the loss" if name in (None, "the loss") else str(name)

