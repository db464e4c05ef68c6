"""The processes a training run's verdict needs beside the pair's sides: the TF1 run again with
oneDNN off (the kernel noise), and the steps run again from TF1's state (the step-wise run).

oneDNN is switched once per process, so the kernel noise needs another process. Its kernels sum in
another order than oneDNN's (Eigen's), which is the round-off that parts a TF1 graph from eager
TF2 on a machine where oneDNN is on; how far that run drifts from the TF1 run is measured noise,
not a model of it. Where oneDNN is off already, both sides run the same kernels and there is no
such noise to measure: the band is the one-ulp model alone.

The step-wise run (worker/bisect.py) holds both sides in one process and runs each step of a run
that left its band on both from TF1's state: it tells a wrong step from round-off that training
amplified, and verdict/steps.py judges on it.
"""
from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Optional

import numpy as np

from tf_equiv.ast_lock import AST_LOCK
from tf_equiv.checks import TRAINING_RUN as CHECK
from tf_equiv.protocol.requests import StepsRequest
from tf_equiv.run.controller import Controller, exit_words, log_tail
from tf_equiv.run.protocol import Bisected, Environment, Fatal, Transfer
from tf_equiv.run.records import SideCheck
from tf_equiv.run.sides import SideRun, SideSpec, run_sides

VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
#: In the words of the report.
LABEL = "the TF1 run again with oneDNN off (TF_ENABLE_ONEDNN_OPTS=0: other kernels, another " \
        "summation order)"


def onednn_on(spec: SideSpec) -> bool:
    """Whether the pair's workers run with oneDNN (TensorFlow's default where it is built in;
    TensorFlow reads "0" and "false" as off)."""
    value = dict(spec.env).get(VARIABLE, os.environ.get(VARIABLE, ""))
    return value.strip().lower() not in ("0", "false")


class _Either:
    """Set when the run's stop or this run's own is."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


class KernelRun:
    """Started beside the pair's sides when a training run is planned and oneDNN is on; `attach`
    waits for it and tells the TF1 side's training_run result where its records are; `close`
    ends it whatever happened to the sides. Against stored TF1 records there is none, and
    `attach` says so."""

    def __init__(self, spec: SideSpec, sides: tuple, stop: threading.Event,
                 stored: bool = False) -> None:
        self.thread: Optional[threading.Thread] = None
        self.run: Optional[SideRun] = None
        self.failure = ""
        self.stored = stored and CHECK in spec.checks and onednn_on(spec)
        self._own_stop = threading.Event()
        if CHECK not in spec.checks or "tf1" not in sides or not onednn_on(spec):
            return
        # One thread: it runs beside the pair's sides, which the cores were shared out among.
        self.spec = replace(spec, checks=(CHECK,), options=replace(spec.options, threads=1),
                            noise=True,
                            env=spec.env + ((VARIABLE, "0"),),
                            out_dir=tempfile.mkdtemp(prefix="kernels-", dir=spec.out_dir))
        self.thread = threading.Thread(target=self._run, args=(_Either(stop, self._own_stop),),
                                       daemon=True, name="tf-equiv-kernels")
        self.thread.start()

    @property
    def pending(self) -> tuple[str, ...]:
        """The checks whose comparison waits for this run."""
        return (CHECK,) if self.thread is not None or self.stored else ()

    def _run(self, stop: "_Either") -> None:
        try:
            self.run = run_sides(self.spec, stop, ("tf1",))["tf1"]  # type: ignore[arg-type]
        except Exception as exc:  # the band falls back to the one-ulp model; the verdict stands
            self.failure = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        """End the run if it still goes on (the sides raised, say), and wait for it."""
        if self.thread is not None:
            self._own_stop.set()
            self.thread.join()

    def attach(self, runs: dict[str, SideRun]) -> None:
        """Point the TF1 training_run result at this run's records (meta `kernels`), or say why
        there are none (meta `kernels_error`): the band is then the one-ulp model alone."""
        tf1 = runs.get("tf1")
        if self.stored and tf1 is not None:
            _tell(tf1, {"kernels_error": "not run against stored TF1 records"})
        if self.thread is None:
            return
        self.thread.join()
        if tf1 is None:
            return
        found = self.run.check(CHECK) if self.run is not None else None
        if found is not None and found.status == "ok" and found.file:
            extra = {"kernels": found.file, "kernels_label": LABEL}
            theirs = (self.run.find(Transfer) or Transfer()).batches if self.run else None
            ours = (tf1.find(Transfer) or Transfer()).batches
            if not _same_arrays(ours, theirs):
                extra = {"kernels_error": "it drew other batches than the TF1 run (train.batches "
                                          "gives other arrays when called again with numpy's "
                                          "seed reset)"}
        elif found is not None:
            extra = {"kernels_error": found.message or found.status}
        else:
            fatal = self.run.find(Fatal) if self.run else None
            extra = {"kernels_error": fatal.message if fatal else self.run.how_it_ended()
                     if self.run else self.failure or "not run"}
        _tell(tf1, extra)


def _tell(tf1: SideRun, extra: dict) -> None:
    tf1.events[:] = [(at, _with(event, extra)) for at, event in tf1.events]


def _same_arrays(a: Optional[str], b: Optional[str]) -> bool:
    """Whether two .npz files hold the same arrays (one pair in memory at a time)."""
    if not a or not b:
        return False
    try:
        with np.load(a, allow_pickle=False) as x, np.load(b, allow_pickle=False) as y:
            if set(x.files) != set(y.files):
                return False
            for k in x.files:
                with AST_LOCK:
                    one, other = x[k], y[k]
                if not np.array_equal(one, other, equal_nan=one.dtype.kind in "fc"):
                    return False
            return True
    except Exception:  # an unreadable file (a broken zip, say) is no evidence of the same batches
        return False


def _with(event: object, extra: dict) -> object:
    if isinstance(event, SideCheck) and event.check == CHECK and event.status == "ok":
        return replace(event, meta={**event.meta, **extra})
    return event


@dataclass(frozen=True)
class Steps:
    """What the step-wise run found (worker/bisect.py's `bisected` result), or why it has
    nothing (`problem`, with a `hint`); `detail`: its log where it ended badly."""

    found: Optional[dict[str, Any]] = None
    problem: str = ""
    hint: str = ""
    detail: str = ""
    seconds: float = 0.0
    #: What the run's worker ran on, its numerics among them (its `environment` event).
    environment: dict[str, str] = field(default_factory=dict)


def run_steps(spec: SideSpec, records: str, transfer: Transfer, first: int, last: int,
              floor: float, factor: float, atol: float, stop: threading.Event, seconds: float,
              workdir: str) -> Steps:
    """Steps `first`..`last` run again, each on both sides from TF1's state (the TF1 side's
    `records`, its batches and initial values in `transfer`), within `seconds`; never raises."""
    started = time.monotonic()
    out_dir = tempfile.mkdtemp(prefix="steps-", dir=workdir)
    request = StepsRequest(spec.module, spec.pair, records, str(transfer.batches),
                           str(transfer.file), first, last, floor, factor, atol, spec.options)
    with Controller(stop, deadline=started + seconds) as controller:
        try:
            worker = controller.start("steps", request, spec.python,
                                      os.path.join(out_dir, "steps.log"),
                                      os.path.dirname(spec.module), dict(spec.env))
        except Exception as exc:  # no process, no finding: the verdict says why
            return Steps(problem=f"its worker could not start ({type(exc).__name__}: {exc})")
        worker.relay(None)
        controller.wait()
    took = time.monotonic() - started
    if worker.interrupted:
        return Steps(problem="interrupted", seconds=took)
    if worker.timed_out:
        return Steps(problem=f"steps {first} to {last} timed out after {seconds:g} s",
                     hint="raise the pair's timeout", seconds=took)
    events = [event for _, event in worker.events]
    said = next((e for e in events if isinstance(e, Environment)), Environment())
    ran = replace(Steps(), seconds=took, environment=dict(said.environment))
    found = next((e for e in events if isinstance(e, Bisected)), None)
    if found is not None:
        return replace(ran, found=found.result)
    fatal = next((e for e in events if isinstance(e, Fatal)), None)
    if fatal is not None:
        return replace(ran, problem=fatal.message, detail=fatal.detail.strip())
    return replace(ran, problem=f"its worker {exit_words(worker.returncode)}",
                   detail=log_tail(worker.worker.log_path, 20))
