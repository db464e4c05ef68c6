"""A zygote: one process that imports TensorFlow, tf_keras, tf_slim and the worker once, then forks a
fresh worker for every side of every pair (`python -m tf_equiv.worker.zygote`).

Importing TensorFlow is most of what a small pair costs; a fork costs a few milliseconds. The
zygote itself never runs user code, builds a graph, creates the eager context or touches
`tf.config`: TensorFlow's runtime threads do not exist yet when it forks, and every worker starts
from the state a fresh `import tensorflow` leaves (Keras name counters, seeds, options, the user's
modules unimported). A worker that crashes, hangs or changes global state ends with its process.

The parent talks to it over one SOCK_SEQPACKET socket (fd `TF_EQUIV_ZYGOTE_FD`): a request is one
JSON message with four descriptors (a reply socket, the worker's stdin, its log, its event pipe);
the zygote answers on the reply socket with the worker's pid, then with its exit status. When the
parent goes away (its end of the socket closes) the zygote exits.
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
from typing import Any

#: The worker modules a fork may run; anything else is refused.
MODULES = ("tf_equiv.worker", "tf_equiv.worker.localize", "tf_equiv.worker.bisect")


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


def _status(raw: int) -> int:
    """A waitpid status as Popen's returncode: the exit status, or minus the signal."""
    if os.WIFSIGNALED(raw):
        return -os.WTERMSIG(raw)
    return os.WEXITSTATUS(raw)


def _child(request: dict, reply: socket.socket, stdin: int, log: int, events: int,
           closing: list) -> None:
    """The forked worker: its own process group, its descriptors, folder and environment; then
    the module runs as `python -m` would run it. Never returns."""
    code = 1
    try:
        os.setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        for fd in closing:
            try:
                os.close(fd)
            except OSError:
                pass
        reply.close()
        os.dup2(stdin, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        for fd in (stdin, log):
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.update(request["env"])
        os.environ["TF_EQUIV_EVENT_FD"] = str(events)
        sys.path[0] = request["cwd"]
        sys.argv = [request["module"], *request["args"]]
        import runpy
        try:
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if not isinstance(e.code, (int, type(None))):
                print(e.code, file=sys.stderr)
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


def serve(control: socket.socket) -> None:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the parent decides when workers stop
    children: dict[int, socket.socket] = {}
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
        _reap(children)
        if control.fileno() not in readable:
            continue
        try:
            message, fds, _, _ = socket.recv_fds(control, 65536, 4)
        except InterruptedError:
            continue
        if not message:
            break           # the parent is gone
        _fork(message, fds, children, [control.fileno(), wake_r, wake_w])
    for reply in children.values():
        reply.close()


def _fork(message: bytes, fds: list, children: dict, own: list) -> None:
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
    except (ValueError, AttributeError) as e:
        _send(reply, {"error": str(e)})
        reply.close()
        for fd in (stdin, log, events):
            os.close(fd)
        return
    pid = os.fork()
    if pid == 0:
        _child(request, reply, stdin, log, events,
               own + [s.fileno() for s in children.values()])
    try:
        os.setpgid(pid, pid)     # also here, so that the parent can kill the group at once
    except OSError:
        pass                     # the child did it first, or has already ended
    for fd in (stdin, log, events):
        os.close(fd)
    children[pid] = reply
    _send(reply, {"pid": pid})


def _reap(children: dict) -> None:
    while children:
        try:
            pid, raw = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        except OSError as e:
            if e.errno == errno.EINTR:
                continue
            raise
        if pid == 0:
            return
        reply = children.pop(pid, None)
        if reply is not None:
            _send(reply, {"exit": _status(raw)})
            reply.close()


def _send(reply: socket.socket, message: dict) -> None:
    try:
        reply.send(json.dumps(message).encode())
    except OSError:
        pass     # the parent stopped listening for this worker


def main() -> int:
    control = socket.socket(fileno=int(os.environ.pop("TF_EQUIV_ZYGOTE_FD")))
    preload()
    # The imported modules' objects out of the collector's reach: a worker's collections would
    # otherwise write to every one of them and copy the pages it shares with the zygote.
    gc.collect()
    gc.freeze()
    serve(control)
    return 0


if __name__ == "__main__":
    sys.exit(main())
