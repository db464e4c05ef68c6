"""Workers forked from a zygote that has already imported TensorFlow (tf_equiv.worker.zygote), so
that a pair pays a fork instead of two TensorFlow imports; or, where no zygote serves, started as
plain processes. Either way each worker runs under a guardian process of its own (its parent),
which reports its pid and exit status and ends whatever it leaves behind.

One zygote per interpreter and environment, started on first use and ended with this process (it
exits when its socket closes). A zygote that is lost (killed) is noticed by the next fork, which
starts another: the workers it forked go on, as their guardians do not depend on it. A worker
whose environment differs from the zygote's where TensorFlow reads it at import time (oneDNN off,
other devices, another interpreter) gets a zygote of its own. `TF_EQUIV_ZYGOTE=0` turns forking
off.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from typing import IO, Optional

#: Environment variables a worker may set per fork (read after TensorFlow is imported): none, as
#: what a worker is to do travels in its request (tf_equiv.protocol.requests), not its environment.
PER_FORK: frozenset[str] = frozenset()

#: Variables that differ between two runs of the same checker without changing TensorFlow.
_VOLATILE = frozenset({"TF_EQUIV_EVENT_FD", "PYTHONUNBUFFERED", "PWD", "OLDPWD", "_"})

#: Zygotes started again for one environment after one was lost, before its workers are spawned.
REPLACEMENTS = 3

#: Seconds to wait for a guardian to say which worker it forked.
_ANSWER_TIMEOUT = 60


class Unavailable(Exception):
    """No zygote could serve this worker; start it as a plain process."""


class Refused(Unavailable):
    """The zygote refused this request (a module it does not run); it keeps serving the others."""


class Stopped(Unavailable):
    """The run was stopped while the zygote was still importing TensorFlow."""


class Lost(Unavailable):
    """The zygote died after it was ready; another one takes its place."""


class Forked:
    """A worker under its guardian, with the part of Popen's interface the runners use: `pid`
    (the worker, leader of its process group), `stdin`, `poll()`, `wait()`, `returncode`;
    `parent_lost` when the guardian was killed and took the worker with it."""

    def __init__(self, pid: int, reply: socket.socket, stdin: IO[bytes],
                 guardian: Optional[subprocess.Popen] = None, forked: bool = True) -> None:
        self.pid, self.stdin, self.forked = pid, stdin, forked
        self.returncode: Optional[int] = None
        self.parent_lost = False
        self._reply, self._guardian = reply, guardian
        self._lock = threading.Lock()

    def poll(self) -> Optional[int]:
        return self._status(block=False)

    def wait(self, timeout: Optional[float] = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            code = self._status(block=True, timeout=0.2)
            if code is not None:
                return code
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)

    def _status(self, block: bool, timeout: float = 0.0) -> Optional[int]:
        with self._lock:
            if self.returncode is not None:
                return self.returncode
            try:
                self._reply.settimeout(timeout if block else 0.0)
                data = self._reply.recv(4096)
            except (BlockingIOError, socket.timeout):
                return None
            except OSError:
                data = b""
            if data:
                self.returncode = int(json.loads(data).get("exit", -9))
            else:
                # The guardian was killed (its worker dies with it) and cannot tell; the group
                # is killed with what it started.
                _kill_group(self.pid)
                self.returncode, self.parent_lost = -9, True
            self._reply.close()
            if self._guardian is not None:
                _reap(self._guardian)
            return self.returncode


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap(proc: subprocess.Popen) -> Optional[int]:
    """The status of a process that is ending (killed when it is not within seconds)."""
    try:
        return proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _worker_pid(reply: socket.socket) -> Optional[int]:
    """The guardian's first answer: the pid of the worker it forked; None when the guardian (or
    the zygote before it) ended without one. Raises Refused with the zygote's refusal."""
    reply.settimeout(_ANSWER_TIMEOUT)
    try:
        data = reply.recv(4096)
    except OSError:
        return None
    if not data:
        return None
    answer = json.loads(data)
    if "pid" not in answer:
        raise Refused(str(answer.get("error")))
    return int(answer["pid"])


class Zygote:
    def __init__(self, python: str, env: dict, log_path: str) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [python, "-m", "tf_equiv.worker.zygote"], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=dict(env, TF_EQUIV_ZYGOTE_FD=str(theirs.fileno())),
                pass_fds=(theirs.fileno(),), start_new_session=True)
        theirs.close()
        self.control = ours
        self.lock = threading.Lock()
        self.ready = False

    def fork(self, module: str, args: list, cwd: str, env: dict, log_path: str,
             event_fd: int, stop: Optional[threading.Event] = None) -> Forked:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        stdin_r, stdin_w = os.pipe()
        try:
            try:
                with open(log_path, "wb") as log, self.lock:
                    if not self.ready:
                        self._await_ready(stop)
                    if self.proc.poll() is not None:
                        raise Lost(f"the zygote ended ({self.proc.returncode})")
                    request = json.dumps({"module": module, "args": list(args), "cwd": cwd,
                                          "env": env}).encode()
                    try:
                        socket.send_fds(self.control, [request],
                                        [theirs.fileno(), stdin_r, log.fileno(), event_fd])
                    except OSError as e:
                        raise Lost(f"the zygote is gone: {e}") from e
            finally:
                # Only the zygote and the guardian it forks may hold the other end: an end of
                # file is then the answer of a zygote or guardian that died.
                theirs.close()
                os.close(stdin_r)
            pid = _worker_pid(ours)
            if pid is None:
                try:
                    self.proc.wait(1)
                except subprocess.TimeoutExpired:
                    # The zygote is well; its fork of this worker failed (its log says why).
                    raise Refused("the zygote's guardian ended before forking the worker") \
                        from None
                raise Lost(f"the zygote ended ({self.proc.returncode})")
        except BaseException:
            ours.close()
            os.close(stdin_w)
            raise
        return Forked(pid, ours, os.fdopen(stdin_w, "wb"))

    def _await_ready(self, stop: Optional[threading.Event]) -> None:
        """Wait for the zygote's import of TensorFlow, but not past a stop of the run."""
        deadline = time.monotonic() + 300
        self.control.settimeout(0.1)
        try:
            while True:
                try:
                    data = self.control.recv(4096)
                    break
                except socket.timeout:
                    if stop is not None and stop.is_set():
                        raise Stopped("the run was stopped") from None
                    if time.monotonic() > deadline:
                        raise Unavailable("the zygote did not start within 300 s") from None
        except OSError as e:
            raise Unavailable(f"the zygote did not start: {e}") from e
        finally:
            self.control.settimeout(None)
        if not data:
            raise Unavailable("the zygote ended while importing TensorFlow")
        self.ready = True

    def close(self) -> None:
        self.control.close()
        _reap(self.proc)


def spawn(python: str, module: str, args: list, cwd: str, env: dict, log_path: str,
          event_fd: int) -> Forked:
    """Start a worker as a plain process (`python -m module args...`) under a guardian of its own,
    its own session and process group, in `cwd`, with its output in `log_path`."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        with open(log_path, "wb") as log:
            guardian = subprocess.Popen(
                [python, "-m", "tf_equiv.worker.zygote", "--guard", str(theirs.fileno()), module,
                 *args], stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env,
                pass_fds=(event_fd, theirs.fileno()), start_new_session=True, cwd=cwd)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    assert guardian.stdin is not None
    pid = _worker_pid(ours)
    if pid is None:
        # The guardian could not start the worker (another interpreter, a broken install): it
        # ended with the status that says so, and its log tells why.
        worker = Forked(guardian.pid, ours, guardian.stdin, forked=False)
        _kill_group(guardian.pid)
        ours.close()
        worker.returncode = _reap(guardian)
        return worker
    return Forked(pid, ours, guardian.stdin, guardian, forked=False)


_zygotes: dict[tuple, Zygote] = {}
_broken: set = set()
_lost: dict[tuple, int] = {}
_registry_lock = threading.Lock()


def _key(python: str, env: dict) -> tuple:
    return (python, tuple(sorted((k, v) for k, v in env.items() if k not in _VOLATILE)))


def fork(python: str, module: str, args: list, cwd: str, env: dict, log_path: str,
         event_fd: int, stop: Optional[threading.Event] = None) -> Forked:
    """Fork a worker from the zygote for `python` and `env` (started on first use, and again
    when it was lost). Raises Unavailable when forking is off or no zygote can serve it."""
    if os.environ.get("TF_EQUIV_ZYGOTE", "1") == "0":
        raise Unavailable("forking is turned off (TF_EQUIV_ZYGOTE=0)")
    per_fork = {k: v for k, v in env.items() if k in PER_FORK}
    key = _key(python, env)
    while True:
        with _registry_lock:
            if key in _broken:
                raise Unavailable("the zygote for this environment failed before")
            zygote: Optional[Zygote] = _zygotes.get(key)
            if zygote is None:
                base = {k: v for k, v in env.items()
                        if k not in PER_FORK and k != "TF_EQUIV_EVENT_FD"}
                zygote = _zygotes[key] = Zygote(python, base, log_path + ".zygote")
        try:
            return zygote.fork(module, args, cwd, per_fork, log_path, event_fd, stop)
        except (Stopped, Refused):
            raise
        except Unavailable as e:
            with _registry_lock:
                if _zygotes.get(key) is zygote:
                    del _zygotes[key]
                    _lost[key] = _lost.get(key, 0) + isinstance(e, Lost)
                    if not isinstance(e, Lost) or _lost[key] > REPLACEMENTS:
                        _broken.add(key)
                broken = key in _broken
            zygote.close()
            if broken:
                raise


def shutdown() -> None:
    """End every zygote (they also end on their own when this process exits)."""
    with _registry_lock:
        zygotes = list(_zygotes.values())
        _zygotes.clear()
    for zygote in zygotes:
        zygote.close()
