"""Workers forked from a zygote that has already imported TensorFlow (tf_equiv.worker.zygote), so
that a pair pays a fork instead of two TensorFlow imports.

One zygote per interpreter and environment, started on first use and ended with this process (it
exits when its socket closes). A worker whose environment differs from the zygote's where
TensorFlow reads it at import time (oneDNN off, other devices, another interpreter) is not forked:
the caller starts it as a plain process. `TF_EQUIV_ZYGOTE=0` turns forking off.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from typing import IO, Optional

#: Environment variables a worker may set per fork: they are read after TensorFlow is imported.
PER_FORK = frozenset({"TF_EQUIV_THREADS", "TF_EQUIV_KERNEL_RUN"})

#: Variables that differ between two runs of the same checker without changing TensorFlow.
_VOLATILE = frozenset({"TF_EQUIV_EVENT_FD", "TF_EQUIV_THREADS", "TF_EQUIV_KERNEL_RUN",
                       "PYTHONUNBUFFERED", "PWD",
                       "OLDPWD", "_"})


class Unavailable(Exception):
    """No zygote could serve this worker; start it as a plain process."""


class Refused(Unavailable):
    """The zygote refused this request (a module it does not run); it keeps serving the others."""


class Stopped(Unavailable):
    """The run was stopped while the zygote was still importing TensorFlow."""


class Forked:
    """A worker forked by the zygote, with the part of Popen's interface the runners use:
    `pid`, `stdin`, `poll()`, `wait()`, `returncode`."""

    def __init__(self, pid: int, reply: socket.socket, stdin: IO[bytes]) -> None:
        self.pid, self.stdin = pid, stdin
        self.returncode: Optional[int] = None
        self._reply = reply
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
                # The zygote is gone and cannot tell; the group is killed with what it started.
                _kill_group(self.pid)
                self.returncode = -9
            self._reply.close()
            return self.returncode


def _kill_group(pid: int) -> None:
    import signal
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


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
            with open(log_path, "wb") as log, self.lock:
                if not self.ready:
                    self._await_ready(stop)
                request = json.dumps({"module": module, "args": list(args), "cwd": cwd,
                                      "env": env}).encode()
                try:
                    socket.send_fds(self.control, [request],
                                    [theirs.fileno(), stdin_r, log.fileno(), event_fd])
                except OSError as e:
                    raise Unavailable(f"the zygote is gone: {e}") from e
            ours.settimeout(60)
            try:
                data = ours.recv(4096)
            except OSError as e:
                raise Unavailable(f"the zygote did not answer: {e}") from e
            if not data:
                raise Unavailable("the zygote ended")
            answer = json.loads(data)
            if "pid" not in answer:
                # The zygote is well and serves its other workers; this one runs on its own.
                raise Refused(str(answer.get("error")))
        except BaseException:
            ours.close()
            os.close(stdin_w)
            raise
        finally:
            theirs.close()
            os.close(stdin_r)
        return Forked(int(answer["pid"]), ours, os.fdopen(stdin_w, "wb"))

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
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_zygotes: dict = {}
_broken: set = set()
_registry_lock = threading.Lock()


def _key(python: str, env: dict) -> tuple:
    return (python, tuple(sorted((k, v) for k, v in env.items() if k not in _VOLATILE)))


def fork(python: str, module: str, args: list, cwd: str, env: dict, log_path: str,
         event_fd: int, stop: Optional[threading.Event] = None) -> Forked:
    """Fork a worker from the zygote for `python` and `env` (started on first use). Raises
    Unavailable when forking is off or the zygote cannot serve it."""
    if os.environ.get("TF_EQUIV_ZYGOTE", "1") == "0":
        raise Unavailable("forking is turned off (TF_EQUIV_ZYGOTE=0)")
    per_fork = {k: v for k, v in env.items() if k in PER_FORK}
    key = _key(python, env)
    with _registry_lock:
        if key in _broken:
            raise Unavailable("the zygote for this environment failed before")
        zygote = _zygotes.get(key)
        if zygote is None:
            base = {k: v for k, v in env.items() if k not in PER_FORK and k != "TF_EQUIV_EVENT_FD"}
            zygote = _zygotes[key] = Zygote(python, base, log_path + ".zygote")
    try:
        return zygote.fork(module, args, cwd, per_fork, log_path, event_fd, stop)
    except (Stopped, Refused):
        raise
    except Unavailable:
        with _registry_lock:
            _broken.add(key)
            _zygotes.pop(key, None)
        raise


def shutdown() -> None:
    """End every zygote (they also end on their own when this process exits)."""
    with _registry_lock:
        zygotes = list(_zygotes.values())
        _zygotes.clear()
    for zygote in zygotes:
        zygote.close()
