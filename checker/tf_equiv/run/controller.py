"""The one parent-side controller of worker processes: it spawns every kind of worker for a request
(a pair's side, the noise run, a localization side, the step-wise run), reads its events, polls it,
kills it at a stop, a timeout or a deadline, and relays what it waits for on its stdin. Its callers
keep only their own rules (which worker is told what, and when). Nothing here imports TensorFlow.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from typing import Callable, Optional

from tf_equiv.protocol import relays, requests
from tf_equiv.protocol.relays import Relay
from tf_equiv.protocol.requests import Request
from tf_equiv.run import protocol, zygote
from tf_equiv.run.protocol import Event, ProtocolError

TAIL_LINES = 50
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: Seconds between two looks at the workers.
POLL = 0.05


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
    a request). It runs in its own process group (a timeout or a stop kills it with whatever it
    started), under a guardian that ends what it leaves behind (also processes that left the
    group), in the user's module's folder, with its output in `log_path` and this checkout's
    tf_equiv on its path (also under another interpreter, `record --python`); the parent may
    relay it one line on its stdin."""

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

    def send(self, message: Optional[Relay]) -> None:
        """Relay one line on its stdin (None: nothing) and close it."""
        try:
            assert self.proc.stdin is not None
            if message is not None:
                self.proc.stdin.write((relays.encode(message) + "\n").encode())
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass   # it already ended; its own outcome says why

    def kill(self) -> None:
        """Kill its whole process group."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Handle:
    """One worker under the controller: its events as they arrived (seconds since its start,
    event), its limit, and how it ended (`returncode`, `parent_lost`, `elapsed` once closed)."""

    def __init__(self, name: str, worker: Worker, events: list[tuple[float, Event]],
                 timeout: Optional[float]) -> None:
        self.name, self.worker, self.events = name, worker, events
        #: Seconds from its start; its caller may change it while it runs (a pair's own timeout).
        self.timeout = timeout
        self.timed_out = False
        self.interrupted = False
        self.returncode: Optional[int] = None
        self.parent_lost = False
        self.elapsed = 0.0
        self._reported = False
        self._reading = False

    @property
    def proc(self) -> zygote.Forked:
        return self.worker.proc

    @property
    def started(self) -> float:
        return self.worker.started

    @property
    def running(self) -> bool:
        return self.worker.proc.poll() is None

    def relay(self, message: Optional[Relay]) -> None:
        """Relay `message` on its stdin (None: nothing) and close it; only the first counts."""
        self.worker.send(message)

    def kill(self) -> None:
        self.worker.kill()

    def read(self) -> None:
        """Start reading its events (once)."""
        if not self._reading:
            self._reading = True
            self.worker.reader.start()

    def join(self, seconds: float) -> None:
        """Wait up to `seconds` for its pipe to be read to the end (all its events)."""
        self.read()
        self.worker.reader.join(seconds)


class Controller:
    """Spawns workers (`start`), waits for them while it kills those past the run's `stop`, their
    own timeout or the `deadline` (`wait`), and ends them with what they started (`close`; also
    on leaving a `with` block)."""

    def __init__(self, stop: threading.Event, deadline: Optional[float] = None) -> None:
        self.stop, self.deadline = stop, deadline
        self.handles: list[Handle] = []
        self._closed: set[int] = set()

    def __enter__(self) -> Controller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, name: str, request: Request, python: str, log_path: str, cwd: str,
              env: Optional[dict[str, str]] = None, timeout: Optional[float] = None,
              on_event: Optional[Callable[[Handle, Event], None]] = None) -> Handle:
        """Spawn the worker of `request`; `on_event(handle, event)` sees each of its events as it
        arrives (from its reader thread, which `wait` starts: every worker exists by then)."""
        events: list[tuple[float, Event]] = []

        def arrived(event: Event) -> None:
            events.append((time.monotonic() - worker.started, event))
            if on_event is not None:
                on_event(handle, event)

        worker = Worker(python, *worker_args(request), log_path, cwd, env, arrived, self.stop)
        handle = Handle(name, worker, events, timeout)
        self.handles.append(handle)
        return handle

    def wait(self, on_ended: Optional[Callable[[Handle], None]] = None) -> None:
        """Until every worker has ended: a stop kills them all (`interrupted`), a timeout or the
        deadline each that passed it (`timed_out`); `on_ended(handle)` once as each ends."""
        for handle in self.handles:
            handle.read()
        while True:
            running = [h for h in self.handles if h.running]
            now = time.monotonic()
            for h in running:
                if self.stop.is_set():
                    h.interrupted = True
                    h.kill()
                elif (h.timeout is not None and now - h.started > h.timeout) or \
                        (self.deadline and now > self.deadline):
                    h.timed_out = True
                    h.kill()
            for h in self.handles:
                if not h._reported and not h.running:
                    h._reported = True
                    if on_ended is not None:
                        on_ended(h)
            if not running:
                return
            time.sleep(POLL)

    def close(self) -> None:
        """Kill every worker's process group, also of one that has ended: whatever its code
        started (a subprocess, a server) ends with it. Then read its pipe to the end."""
        for h in self.handles:
            if id(h) in self._closed:
                continue
            self._closed.add(id(h))
            h.kill()
            try:
                h.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            h.join(10)
            h.returncode, h.parent_lost = h.proc.returncode, h.proc.parent_lost
            h.elapsed = time.monotonic() - h.started
