"""A zygote: one process that imports TensorFlow, tf_keras, tf_slim and the worker once, then forks a
fresh worker for every side of every pair (`python -m tf_equiv.worker.zygote`).

Importing TensorFlow is most of what a small pair costs; a fork costs a few milliseconds. The
zygote itself never runs user code, builds a graph, creates the eager context or touches
`tf.config`: TensorFlow's runtime threads do not exist yet when it forks, and every worker starts
from the state a fresh `import tensorflow` leaves (Keras name counters, seeds, options, the user's
modules unimported). A worker that crashes, hangs or changes global state ends with its process.

The parent talks to it over one SOCK_SEQPACKET socket (fd `TF_EQUIV_ZYGOTE_FD`): a request is one
JSON message with four descriptors (a reply socket, the worker's stdin, its log, its event pipe).
The zygote forks a guardian (`guard`), which forks the worker and answers on the reply socket with
the worker's pid, then with its exit status; the zygote only reaps guardians. When the parent goes
away (its end of the socket closes) the zygote exits, also while it is still importing TensorFlow.

`python -m tf_equiv.worker.zygote --guard FD MODULE ARGS...` is the same guardian without a
zygote (a worker started as a plain process), answering on descriptor FD.
"""
from __future__ import annotations

import errno
import gc
import json
import os
import select
import signal
import socket
import sys
from typing import Any, NoReturn

#: The worker modules a fork may run; anything else is refused.
MODULES = ("tf_equiv.worker",)

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def preload() -> None:
    """Import what every worker imports, without creating TensorFlow's runtime (no op runs, no
    device is listed): threads started here would not survive the fork."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
    import tensorflow as tf
    try:
        import tf_keras  # noqa: F401
    except ImportError:
        pass
    try:
        import tf_slim  # noqa: F401
    except ImportError:
        pass
    from tf_equiv.worker import audit, bisect, localize, session, tf1, tf2  # noqa: F401
    # Lazily loaded namespaces that user code reaches for first.
    _ = (tf.compat.v1.layers, tf.keras.layers, tf.compat.v1.keras.utils, tf.compat.v1.train)


def _prctl(option: int, value: int) -> bool:
    """Linux's prctl(2); False where there is none (the guarantees it gives are then lost)."""
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _status(raw: int) -> int:
    """A waitpid status as Popen's returncode: the exit status, or minus the signal."""
    if os.WIFSIGNALED(raw):
        return -os.WTERMSIG(raw)
    return os.WEXITSTATUS(raw)


def _children(me: int) -> list[int]:
    """The processes whose parent is `me`, from /proc."""
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found          # no /proc: nothing is known, nothing is killed
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow its last ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(entry))
    return found


def _end_orphans(me: int) -> None:
    """Kill and reap every process left under this subreaper, generation by generation: a killed
    process's own children are re-parented here before it can be reaped."""
    while True:
        left = _children(me)
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in left:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _run_module(module: str, args: list) -> int:
    """`python -m module args...` in this process; its exit status."""
    sys.path[0] = os.getcwd()
    sys.argv = [module, *args]
    import runpy
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    except SystemExit as e:
        if not isinstance(e.code, (int, type(None))):
            print(e.code, file=sys.stderr)
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)


def _worker(module: str, args: list, reply: socket.socket, events: int, guardian: int) -> NoReturn:
    """The forked worker, under its guardian: its own process group, then the module runs as
    `python -m` would run it. Never returns."""
    code = 1
    try:
        os.setpgid(0, 0)
        # Dies with its guardian: whoever kills the guardian (user code calling
        # os.kill(os.getppid(), ...)) ends this side at once and nothing else.
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != guardian:
            os._exit(code)        # the guardian died before the line above
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        reply.close()
        os.environ["TF_EQUIV_EVENT_FD"] = str(events)
        code = _run_module(module, args)
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def guard(module: str, args: list, reply: socket.socket, events: int) -> NoReturn:
    """The guardian of one worker: forks it, tells the parent its pid, waits for it, ends whatever
    it left behind, and reports its exit status. Never returns.

    The worker's parent is this process, not the zygote or the checker: code that signals
    os.getppid() ends its own side only. The guardian is a child subreaper: every process the
    worker starts and orphans, including one that left its process group (setsid,
    start_new_session=True, a double fork), is re-parented here and killed when the worker ends,
    whether it finished, crashed or was killed with its group. Kernel ancestry, unlike a marker
    in the environment or a process group, is nothing user code can shed. The guardian is in no
    group the parent kills, so it is there to do it; only when the guardian itself is killed do
    such escaped processes go to init."""
    try:
        os.setpgid(0, 0)
    except OSError:
        pass                   # already a group leader (started with a session of its own)
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the parent decides when workers stop
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    me = os.getpid()
    try:
        pid = os.fork()
    except OSError as e:
        print(f"tf-equiv: cannot fork the worker: {e}", file=sys.stderr)
        os._exit(1)
    if pid == 0:
        _worker(module, args, reply, events, me)
    try:
        os.setpgid(pid, pid)   # also here, so that the parent can kill the group at once
    except OSError:
        pass                   # the child did it first, or has already ended
    os.close(events)           # the parent's reader ends when the worker's copy closes
    _send(reply, {"pid": pid})
    status = -signal.SIGKILL
    while True:
        try:
            ended, raw = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if ended == pid:       # anything else is an orphan that ended on its own: reaped
            status = _status(raw)
            break
    _end_orphans(me)
    _send(reply, {"exit": status})
    os._exit(0)


def _child(request: dict, reply: socket.socket, stdin: int, log: int, events: int,
           closing: list) -> NoReturn:
    """The zygote's fork: the worker's descriptors, folder and environment, then its guardian."""
    try:
        signal.set_wakeup_fd(-1)       # before the descriptor it names is closed
        for fd in closing:
            try:
                os.close(fd)
            except OSError:
                pass
        os.dup2(stdin, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        for fd in (stdin, log):
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.update(request["env"])
        guard(request["module"], request["args"], reply, events)
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        os._exit(1)


def serve(control: socket.socket) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the parent decides when workers stop
    control.send(b'{"ready": true}')
    while True:
        try:
            readable, _, _ = select.select([control.fileno(), wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in readable:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        _reap()
        if control.fileno() not in readable:
            continue
        try:
            message, fds, _, _ = socket.recv_fds(control, 65536, 4)
        except InterruptedError:
            continue
        if not message:
            break           # the parent is gone
        _fork(message, fds, [control.fileno(), wake_r, wake_w])


def _fork(message: bytes, fds: list, own: list) -> None:
    if len(fds) != 4:
        for fd in fds:
            os.close(fd)
        return
    reply = socket.socket(fileno=fds[0])
    stdin, log, events = fds[1:]
    try:
        request: Any = json.loads(message)
        if request.get("module") not in MODULES:
            raise ValueError(f"not a worker module: {request.get('module')!r}")
        pid = os.fork()
    except (ValueError, AttributeError, OSError) as e:
        _send(reply, {"error": str(e)})
        pid = -1
    if pid == 0:
        _child(request, reply, stdin, log, events, own)
    # The guardian holds the reply socket now: the parent reads its end of file when the guardian
    # is gone, whatever becomes of the zygote.
    reply.close()
    for fd in (stdin, log, events):
        os.close(fd)


def _reap() -> None:
    """Reap the guardians that ended (each has told the parent how its worker ended)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        except OSError as e:
            if e.errno == errno.EINTR:
                continue
            raise
        if pid == 0:
            return


def _send(reply: socket.socket, message: dict) -> None:
    try:
        reply.send(json.dumps(message).encode())
    except OSError:
        pass     # the parent stopped listening for this worker


def _sentinel(control: socket.socket) -> None:
    """Fork a process that kills this one as soon as the parent's end of `control` closes.

    Importing TensorFlow holds the GIL for seconds at a time (loading its shared libraries), so
    neither this process nor a thread of it could notice in time; PR_SET_PDEATHSIG would tie the
    zygote to the parent's thread that started it, not to the parent. The sentinel only waits in
    poll(2) and dies with the zygote (PR_SET_PDEATHSIG, its parent having one thread)."""
    zygote = os.getpid()
    if os.fork() != 0:
        return
    try:
        # Without PR_SET_PDEATHSIG it could outlive the zygote: then there is no sentinel.
        if _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) and os.getppid() == zygote:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            poller = select.poll()
            poller.register(control.fileno(), 0)    # POLLHUP: the peer closed its end
            while not any(event & (select.POLLHUP | select.POLLERR | select.POLLNVAL)
                          for _, event in poller.poll()):
                pass
            os.kill(zygote, signal.SIGKILL)
    finally:
        os._exit(0)


def main() -> int:
    if sys.argv[1:2] == ["--guard"]:
        reply = socket.socket(fileno=int(sys.argv[2]))
        guard(sys.argv[3], sys.argv[4:], reply, int(os.environ["TF_EQUIV_EVENT_FD"]))
    control = socket.socket(fileno=int(os.environ.pop("TF_EQUIV_ZYGOTE_FD")))
    _sentinel(control)
    preload()
    # The imported modules' objects out of the collector's reach: a worker's collections would
    # otherwise write to every one of them and copy the pages it shares with the zygote.
    gc.collect()
    gc.freeze()
    serve(control)
    # The parent is gone: exit at once, without TensorFlow's interpreter shutdown.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
