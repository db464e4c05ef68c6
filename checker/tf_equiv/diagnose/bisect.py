"""A failed training run, bisected to the step: is one step wrong, or is it accumulated noise?

From the last recorded step where the sides still agreed, the steps up to the one where they
parted are run again, each on both sides from TF1's state (worker/bisect.py, one process holding
both). A step that already differs from the same state is wrong in what one step computes (the
optimizer update, the schedule, a batch-norm update, a regularizer that counts twice); when none
does, the sides drift apart by accumulated round-off. Nothing here imports TensorFlow.
"""
from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import replace
from typing import Optional

from tf_equiv.pair import tolerance_for
from tf_equiv.results import PairResult, short
from tf_equiv.run.protocol import Bisected, Event, Fatal, Transfer
from tf_equiv.run.sides import SideSpec, Worker, exit_words, log_tail
from tf_equiv.verdict.judge import settings_of
from tf_equiv.verdict.training import CHECK, window

#: The most steps a bisection re-runs (from step 1 when the slots cannot be carried over).
MAX_STEPS = 400


def bisect_training(result: PairResult, spec: SideSpec, runs: dict, stop: threading.Event,
                    seconds: float, workdir: str) -> PairResult:
    """The result with the failed training run's step found (or not), within `seconds`."""
    case = next((c for c in result.cases if c.check == CHECK and c.verdict == "failed"
                 and not c.cause), None)
    if case is None or stop.is_set() or "tf1" not in runs or "tf2" not in runs:
        return result
    tf1, tf2 = runs["tf1"].check(CHECK, ok=True), runs["tf2"].check(CHECK, ok=True)
    transfer = runs["tf1"].find(Transfer)
    settings = settings_of(runs) or {}
    span = window(tf1, tf2, settings) if tf1 and tf2 else None
    if span is None or tf1 is None or transfer is None or not transfer.file or \
            not transfer.batches or not tf1.file:
        return result
    first, last = span
    first = max(first, last - MAX_STEPS + 1)
    floor, atol = tolerance_for(f"{CHECK}/loss", settings.get("tolerances", {}),
                                settings.get("rtol", 1e-6), settings.get("atol", 1e-5))
    started = time.monotonic()
    factor = float((settings.get("train") or {}).get("noise_factor", 10.0))
    words, detail = _run(spec, tf1.file, transfer, first, last, floor, factor, atol, stop,
                         seconds, workdir)
    explanation = f"Explanation: {words}"
    took = time.monotonic() - started
    bisected = replace(case, message=f"{case.message}. {explanation}", explanation=explanation,
                       detail=f"{case.detail}\n\nbisection ({took:.1f} s):\n  {detail}".strip())
    return replace(result, cases=tuple(bisected if c is case else c for c in result.cases),
                   duration=result.duration + took)


def _run(spec: SideSpec, records: str, transfer: Transfer, first: int, last: int, floor: float,
         factor: float, atol: float, stop: threading.Event, seconds: float,
         workdir: str) -> tuple[str, str]:
    """(the finding in words, its detail line) of one bisection worker."""
    out_dir = tempfile.mkdtemp(prefix="bisect-", dir=workdir)
    args = ["--module", spec.module, "--pair", spec.pair, "--records", records,
            "--batches", str(transfer.batches), "--transfer", str(transfer.file),
            "--first", str(first), "--last", str(last), "--floor", repr(floor),
            "--factor", repr(factor), "--atol", repr(atol)]
    if not spec.compat_fixes:
        args.append("--no-compat-fixes")
    events: list[Event] = []
    worker = Worker(spec.python, "tf_equiv.worker.bisect", args,
                    os.path.join(out_dir, "bisect.log"), os.path.dirname(spec.module),
                    spec.threads, on_event=events.append, stop=stop)
    worker.reader.start()
    worker.send(None)
    deadline = time.monotonic() + seconds
    try:
        while worker.proc.poll() is None:
            if stop.is_set():
                return "bisection not finished: interrupted", ""
            if time.monotonic() > deadline:
                return (f"bisection of steps {first} to {last} timed out after {seconds:g} s",
                        "raise the pair's timeout to bisect it")
            time.sleep(0.05)
    finally:
        worker.kill()
    worker.reader.join(5)
    found = next((e for e in events if isinstance(e, Bisected)), None)
    if found is not None:
        return describe(found.result)
    fatal = next((e for e in events if isinstance(e, Fatal)), None)
    if fatal is not None:
        return f"bisection failed: {fatal.message}", fatal.detail.strip()
    return (f"bisection failed: its worker {exit_words(worker.proc.returncode)}",
            log_tail(worker.log_path, 20))


def describe(found: dict) -> tuple[str, str]:
    """The bisection's finding in words: a sentence for the message, a line for the detail."""
    unpaired = found.get("unpaired") or []
    carried = (f" (TF2's optimizer slots {', '.join(unpaired)} have no TF1 counterpart, so the "
               "bisection started at step 1)") if unpaired else ""
    wrong: Optional[int] = found.get("wrong")
    if wrong:
        loss1, loss2 = found["loss"]
        record = found["record"]
        what = "its loss" if record == "the loss" else record
        return (f"step {wrong} is wrong: run on both sides from TF1's state after step "
                f"{wrong - 1}, one step already differs at {what} (divergence "
                f"{short(found['divergence'])}, that step's noise band {short(found['band'])}); "
                f"loss TF1 "
                f"{loss1:.6g}, TF2 {loss2:.6g}; likely a migration bug in what one step computes. "
                "Hint: compare the two sides' optimizer settings (learning rate and its schedule's "
                "step count, epsilon, momentum), batch-norm momentum and regularization losses",
                f"steps {found['first']}..{wrong} re-run from TF1's state each; step {wrong} "
                f"differs first{carried}")
    worst = found.get("worst") or {}
    return (f"no single step differs: steps {found['first']} to {found['last']}, each run on both "
            f"sides from TF1's state, agree within the noise of one step (closest: "
            f"{worst.get('record', '?')} at step {worst.get('step', '?')}, divergence "
            f"{short(worst.get('divergence'))} against {short(worst.get('band'))}); the sides "
            "drift apart by accumulated round-off, "
            "not a migration bug. Hint: raise Train(noise_factor=...) if this much drift is "
            "acceptable",
            f"steps {found['first']}..{found['last']} re-run from TF1's state each; none "
            f"differs{carried}")
