"""A pair's sides, each in worker processes under the one controller (run/controller.py): relay
the TF1 values the TF2 side waits for, apply the pair's own timeout, and collect each side's
events as a `SideRun`. Nothing here imports TensorFlow or user code."""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field, replace
from typing import Callable, Optional, TypeVar

from tf_equiv import checks
from tf_equiv.checks import SIDES
from tf_equiv.protocol.relays import ErrorRelay, Relay, TransferRelay
from tf_equiv.protocol.requests import NoiseRequest, RunOptions, SideRequest
from tf_equiv.run.controller import TAIL_LINES, Controller, Handle, exit_words, log_tail
from tf_equiv.run.controller import Worker as Worker
from tf_equiv.run.controller import worker_args as worker_args
from tf_equiv.run.protocol import Done, Event, PairSettings, Transfer
from tf_equiv.run.records import SideCheck

E = TypeVar("E")


@dataclass
class SideRun:
    """What one side's process said and how it ended."""

    side: str
    events: list = field(default_factory=list)      # (seconds since start, protocol.Event)
    returncode: Optional[int] = None
    timed_out: bool = False
    interrupted: bool = False
    timeout: float = 0.0
    log_path: str = ""
    elapsed: float = 0.0
    module: str = ""                  # the user's module the side ran
    parent_lost: bool = False         # it was killed with its parent (its guardian)

    #: Lines of its event pipe that were JSON but no event of the protocol.
    protocol_errors: list = field(default_factory=list)

    def find(self, kind: type[E]) -> Optional[E]:
        """The first event of that kind (protocol.Fatal, ...)."""
        return next((e for _, e in self.events if isinstance(e, kind)), None)

    def check(self, check: str, ok: bool = False) -> Optional[SideCheck]:
        """The side's result for `check` (`ok`: only a result with records)."""
        return next((e for _, e in self.events if isinstance(e, SideCheck) and e.check == check
                     and (e.status == "ok" or not ok)), None)

    @property
    def finished(self) -> bool:
        return self.find(Done) is not None

    def how_it_ended(self) -> str:
        """In words: a timeout, a signal or an exit status, for a side that sent no final event."""
        label = self.side.upper()
        if self.interrupted:
            return f"{label} side: not run: interrupted"
        if self.timed_out:
            return (f"{label} side timed out after {self.timeout:g} s and was killed with its "
                    "children (raise Pair(timeout=...) or the timeout option)")
        if self.parent_lost:
            # Nothing of the checker's kills a guardian: a signal from inside the side did.
            return (f"{label} side was killed with its parent process, which was killed first: "
                    f"code in {os.path.basename(self.module) or 'the module'} that signals its "
                    "parent (os.kill(os.getppid(), ...)) does this; the other pairs run on")
        return f"{label} side {exit_words(self.returncode)}"

    def log_tail(self, lines: int = TAIL_LINES) -> str:
        return log_tail(self.log_path, lines)


@dataclass(frozen=True)
class SideSpec:
    module: str
    pair: str
    checks: tuple
    out_dir: str
    timeout: float
    #: What every worker of this run is told (the side workers and the diagnoses alike).
    options: RunOptions = RunOptions()
    python: str = sys.executable
    #: Every TF1-side worker's interpreter where it is another (`--tf1-python`); None: `python`.
    tf1_python: Optional[str] = None
    env: tuple = ()                   # ((name, value), ...) set for the workers
    deadline: Optional[float] = None  # time.monotonic() by which every side is killed
    any_check: bool = False           # run checks beyond the pair's own `checks` (explanations)
    noise: bool = False               # the TF1 training run alone, for its noise band (kernels)

    def interpreter(self, side: str) -> str:
        """The interpreter of `side`'s workers (the noise run is a TF1 side)."""
        return self.tf1_python if side == "tf1" and self.tf1_python else self.python

    @property
    def cross_version(self) -> bool:
        """Whether the sides run under two interpreters, so no one process holds both."""
        return bool(self.tf1_python) and \
            os.path.abspath(str(self.tf1_python)) != os.path.abspath(self.python)

    def request(self, side: str) -> SideRequest | NoiseRequest:
        """The request of the worker of `side` that runs this spec's checks."""
        if self.noise:
            return NoiseRequest(self.module, self.pair, self.out_dir, self.options)
        return SideRequest(self.module, self.pair, "tf1" if side == "tf1" else "tf2",
                           self.out_dir, tuple(self.checks), self.any_check, self.options)


def split_checks(side: str, wanted: tuple, parts: int) -> list:
    """The check subsets of a side's worker processes: all in one, or first group | the rest."""
    if parts < 2:
        return [wanted]
    parts_of = {c: role.part if (role := checks.spec(c).role(side)) else 0 for c in wanted}
    first = tuple(c for c in wanted if parts_of[c] == 0)
    rest = tuple(c for c in wanted if parts_of[c] == 1)
    return [subset for subset in (first, rest) if subset] or [wanted]


def _merge(side: str, runs: list) -> SideRun:
    """One side's runs (its parts) as one: all events in time order; finished when every part is."""
    if len(runs) == 1:
        return runs[0]
    events = sorted((e for r in runs for e in r.events if not isinstance(e[1], Done)),
                    key=lambda e: e[0])
    if all(r.finished for r in runs):
        events.append((max(r.elapsed for r in runs), Done()))
    worst = next((r for r in runs if not r.finished), runs[0])
    return SideRun(side, events, returncode=worst.returncode,
                   timed_out=any(r.timed_out for r in runs),
                   interrupted=any(r.interrupted for r in runs), timeout=worst.timeout,
                   log_path=worst.log_path, elapsed=max(r.elapsed for r in runs),
                   module=worst.module, parent_lost=worst.parent_lost,
                   protocol_errors=[e for r in runs for e in r.protocol_errors])


def transfer_message(event: Transfer) -> Relay:
    """What the TF2 side is told of the TF1 values (and of a training run's batches)."""
    if not event.file:
        return ErrorRelay(event.error or "the TF1 side sent no initial values")
    return TransferRelay(event.file, event.batches or "", event.batches_error or "")


def run_sides(spec: SideSpec, stop: threading.Event, sides: tuple = SIDES,
              transfer: Optional[Relay] = None, parts: int = 1,
              listener: Optional[Callable[[str, Event], None]] = None) -> dict:
    """Run the sides of one pair to completion (or timeout, or `stop`); return {side: SideRun}.

    Without a TF1 side, `transfer` is what the TF2 side is told of the TF1 values (stored ones).
    With `parts` 2, each side's checks are split over two processes (cores would be idle else).
    `listener(side, event)` sees every event as it arrives (from a reader thread).
    """
    lock = threading.Lock()
    relayed = {"done": False}
    controller = Controller(stop, spec.deadline)

    def relay(message: Relay) -> None:
        """The first word on the TF1 values goes to every TF2 process; later ones are moot."""
        with lock:
            if relayed["done"]:
                return
            relayed["done"] = True
        for h in controller.handles:
            if h.name == "tf2":
                h.relay(message)

    def on_event(handle: Handle, event: Event) -> None:
        if listener is not None:
            listener(handle.name, event)
        if handle.name == "tf1" and isinstance(event, Transfer):
            relay(transfer_message(event))
        elif isinstance(event, PairSettings) and event.settings.get("timeout"):
            for h in controller.handles:
                h.timeout = float(event.settings["timeout"])

    def on_ended(handle: Handle) -> None:
        tf1 = [h for h in controller.handles if h.name == "tf1"]
        if handle.name == "tf1" and not any(h.running for h in tf1):
            for h in tf1:
                h.join(5)
            runs = [_side_run(h, spec.module) for h in tf1]
            ended = next((r for r in runs if not r.finished), None)
            relay(ErrorRelay(ended.how_it_ended() if ended
                             else "the TF1 side did not compute them"))

    with controller:
        for side in sides:
            for index, subset in enumerate(split_checks(side, spec.checks, parts)):
                log = f"{side}.log" if index == 0 else f"{side}-{index + 1}.log"
                handle = controller.start(
                    side, replace(spec, checks=subset).request(side), spec.interpreter(side),
                    os.path.join(spec.out_dir, log), os.path.dirname(spec.module),
                    dict(spec.env), spec.timeout, on_event)
                if side == "tf1":
                    handle.relay(None)
        if "tf1" not in sides:
            relay(transfer or ErrorRelay("the TF1 side was not run"))
        controller.wait(on_ended)
    runs = [_side_run(h, spec.module) for h in controller.handles]
    return {side: _merge(side, [r for r in runs if r.side == side]) for side in sides}


def _side_run(handle: Handle, module: str = "") -> SideRun:
    """What the side's process said and how it ended (so far, for one still closing)."""
    return SideRun(handle.name, handle.events,
                   returncode=handle.returncode if handle.returncode is not None
                   else handle.proc.returncode,
                   timed_out=handle.timed_out, interrupted=handle.interrupted,
                   timeout=handle.timeout or 0.0, log_path=handle.worker.log_path,
                   elapsed=handle.elapsed, module=module,
                   parent_lost=handle.parent_lost or handle.proc.parent_lost,
                   protocol_errors=handle.worker.protocol_errors)
