"""Spawn a pair's two sides as subprocesses, relay the TF1 values the TF2 side waits for, enforce
timeouts, and collect each side's events. Nothing here imports TensorFlow or user code."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Optional, TypeVar

from tf_equiv import checks as check_table
from tf_equiv.checks import SIDES
from tf_equiv.protocol import requests
from tf_equiv.protocol.requests import NoiseRequest, Numerics, Request, RunOptions, SideRequest
from tf_equiv.run import protocol, zygote
from tf_equiv.run.protocol import Done, Event, PairSettings, ProtocolError, Transfer
from tf_equiv.run.records import SideCheck

TAIL_LINES = 50
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

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


def exit_words(code: Optional[int]) -> str:
    """How a worker ended, in words: "was killed by SIGKILL (exit status -9)", "exited with
    status 1 before finishing"."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name} (exit status {code})"
    return f"exited with status {code} before finishing"


def log_tail(path: str, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a worker's log ("" when there is none)."""
    try:
        with open(path, "rb") as f:
            data = f.read()[-200_000:]
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def worker_args(request: Request) -> tuple[str, list[str]]:
    """The module and arguments of the worker that serves `request`: its one argument is the
    request as JSON (through the zygote too; a request is far below the size of one argument)."""
    return "tf_equiv.worker", [requests.encode(request)]


class Worker:
    """One worker process of this tf_equiv (`python -m MODULE ARGS`; `worker_args` gives them for
    a request): a pair's side, the noise run, a localization side or the step-wise run. It runs in
    its own process group (a timeout or a stop kills it with whatever it started), under a guardian
    that ends what it leaves behind (also processes that left the group), in the user's module's
    folder, with its output in `log_path` and this checkout's tf_equiv on its path (also under
    another interpreter, `record --python`); the parent may write it one JSON line on its stdin."""

    def __init__(self, python: str, module: str, args: list[str], log_path: str, cwd: str,
                 env: Optional[dict[str, str]] = None,
                 on_event: Optional[Callable[[Event], None]] = None,
                 stop: Optional[threading.Event] = None) -> None:
        """`on_event(event)` sees each event of its pipe as it arrives (from `reader`, a thread
        the caller starts); a line that is no event of the protocol goes to `protocol_errors`."""
        read_fd, write_fd = os.pipe()
        path = os.pathsep.join(filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))
        environ = dict(os.environ, TF_USE_LEGACY_KERAS="1", PYTHONPATH=path, PYTHONUNBUFFERED="1",
                       TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "1"))
        environ.update(env or {}, TF_EQUIV_EVENT_FD=str(write_fd))
        self.log_path = log_path
        self.protocol_errors: list[str] = []
        self.started = time.monotonic()
        self.proc: zygote.Forked
        try:
            # A fork of a process that has imported TensorFlow already (one per environment);
            # else a process of its own. Either way under a guardian, its parent (run/zygote.py).
            try:
                self.proc = zygote.fork(python, module, args, cwd, environ, log_path, write_fd,
                                        stop)
            except zygote.Unavailable:
                self.proc = zygote.spawn(python, module, args, cwd, environ, log_path, write_fd)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._on_event = on_event or (lambda event: None)
        self.reader = threading.Thread(target=self._read, args=(read_fd,), daemon=True)

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    event = protocol.decode(line)
                except ProtocolError as e:
                    self.protocol_errors.append(str(e))
                    continue
                if event is not None:
                    self._on_event(event)

    def send(self, message: Optional[dict]) -> None:
        """Write one JSON line on its stdin (None: nothing) and close it."""
        try:
            assert self.proc.stdin is not None
            if message is not None:
                self.proc.stdin.write((json.dumps(message) + "\n").encode())
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass   # it already ended; its own outcome says why

    def kill(self) -> None:
        """Kill its whole process group."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass(frozen=True)
class SideSpec:
    module: str
    pair: str
    checks: tuple
    out_dir: str
    timeout: float
    threads: int
    compat_fixes: bool = True
    python: str = sys.executable
    grappler_off: tuple = ()          # grappler passes turned off wherever grappler runs
    tf1_optimized: bool = False       # the TF1 graph keeps its default passes in every check
    env: tuple = ()                   # ((name, value), ...) set for the workers
    deadline: Optional[float] = None  # time.monotonic() by which every side is killed
    any_check: bool = False           # run checks beyond the pair's own `checks` (explanations)
    noise: bool = False               # the TF1 training run alone, for its noise band (kernels)

    @property
    def options(self) -> RunOptions:
        """What every worker of this run is told (the side workers and the diagnoses alike)."""
        return RunOptions(Numerics(tuple(self.grappler_off), self.tf1_optimized),
                          self.compat_fixes, self.threads)

    def request(self, side: str) -> SideRequest | NoiseRequest:
        """The request of the worker of `side` that runs this spec's checks."""
        if self.noise:
            return NoiseRequest(self.module, self.pair, self.out_dir, self.options)
        return SideRequest(self.module, self.pair, "tf1" if side == "tf1" else "tf2",
                           self.out_dir, tuple(self.checks), self.any_check, self.options)


class _Process:
    def __init__(self, side: str, spec: SideSpec, on_event: Callable[[str, Event], None],
                 log_name: str, stop: Optional[threading.Event] = None) -> None:
        self.run = SideRun(side, timeout=spec.timeout, module=spec.module,
                           log_path=os.path.join(spec.out_dir, log_name))
        self._on_event = on_event
        module, args = worker_args(spec.request(side))
        self.worker = Worker(spec.python, module, args, self.run.log_path,
                             os.path.dirname(spec.module), dict(spec.env), self._arrived, stop)
        self.run.protocol_errors = self.worker.protocol_errors
        self.proc, self.started = self.worker.proc, self.worker.started
        self.send, self.kill, self.reader = self.worker.send, self.worker.kill, self.worker.reader
        if side == "tf1":
            self.send(None)

    def _arrived(self, event: Event) -> None:
        self.run.events.append((time.monotonic() - self.started, event))
        self._on_event(self.run.side, event)


def split_checks(side: str, checks: tuple, parts: int) -> list:
    """The check subsets of a side's worker processes: all in one, or first group | the rest."""
    if parts < 2:
        return [checks]
    parts_of = {c: role.part if (role := check_table.spec(c).role(side)) else 0 for c in checks}
    first = tuple(c for c in checks if parts_of[c] == 0)
    rest = tuple(c for c in checks if parts_of[c] == 1)
    return [subset for subset in (first, rest) if subset] or [checks]


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


def transfer_message(event: Transfer) -> dict[str, Optional[str]]:
    """What the TF2 side is told of the TF1 values (and of a training run's batches)."""
    message: dict[str, Optional[str]] = \
        {"file": event.file} if event.file else {"error": event.error}
    if event.batches or event.batches_error:
        message.update(batches=event.batches, batches_error=event.batches_error)
    return message


def run_sides(spec: SideSpec, stop: threading.Event, sides: tuple = SIDES,
              transfer: Optional[dict] = None, parts: int = 1,
              listener: Optional[Callable[[str, Event], None]] = None) -> dict:
    """Run the sides of one pair to completion (or timeout, or `stop`); return {side: SideRun}.

    Without a TF1 side, `transfer` is what the TF2 side is told of the TF1 values (stored ones).
    With `parts` 2, each side's checks are split over two processes (cores would be idle else).
    `listener(side, event)` sees every event as it arrives (from a reader thread).
    """
    lock = threading.Lock()
    relayed = {"done": False}
    procs: list = []

    def relay(message: dict) -> None:
        with lock:
            if relayed["done"]:
                return
            relayed["done"] = True
        for p in procs:
            if p.run.side == "tf2":
                p.send(message)

    def on_event(side: str, event: Event) -> None:
        if listener is not None:
            listener(side, event)
        if side == "tf1" and isinstance(event, Transfer):
            relay(transfer_message(event))
        elif isinstance(event, PairSettings) and event.settings.get("timeout"):
            for p in procs:
                p.run.timeout = float(event.settings["timeout"])

    for side in sides:
        for index, checks in enumerate(split_checks(side, spec.checks, parts)):
            log = f"{side}.log" if index == 0 else f"{side}-{index + 1}.log"
            procs.append(_Process(side, replace(spec, checks=checks), on_event, log, stop))
    for p in procs:
        p.reader.start()
    tf1 = [p for p in procs if p.run.side == "tf1"]
    if not tf1:
        relay(transfer or {"error": "the TF1 side was not run"})
    while True:
        running = [p for p in procs if p.proc.poll() is None]
        now = time.monotonic()
        for p in running:
            if stop.is_set():
                p.run.interrupted = True
                p.kill()
            elif now - p.started > p.run.timeout or (spec.deadline and now > spec.deadline):
                p.run.timed_out = True
                p.kill()
        if tf1 and all(p.proc.poll() is not None for p in tf1):
            for p in tf1:
                p.reader.join(5)
            ended = next((p.run for p in tf1 if not p.run.finished), None)
            relay({"error": ended.how_it_ended() if ended else "the TF1 side did not compute them"})
        if not running:
            break
        time.sleep(0.05)
    for p in procs:
        # Whatever the side's code started (a subprocess, a server) ends with the side: its
        # process group outlives the leader only through such children.
        p.kill()
        p.reader.join(10)
        p.run.returncode, p.run.parent_lost = p.proc.returncode, p.proc.parent_lost
        p.run.elapsed = time.monotonic() - p.started
    return {side: _merge(side, [p.run for p in procs if p.run.side == side]) for side in sides}
