"""A worker, in its own process: `python -m tf_equiv.worker '<request as JSON>'`.

The only place where TensorFlow and user code are imported. The one argument is a request of
tf_equiv.protocol.requests (a pair's side, the noise run, a localization side or the step-wise
run), dispatched on its type here. Results go to the parent as JSON events on the file descriptor
named by TF_EQUIV_EVENT_FD; arrays go to .npz files.
"""
from __future__ import annotations

import os
import sys
import traceback
from typing import Any, Callable

from tf_equiv.protocol import requests
from tf_equiv.protocol.requests import IntrospectRequest, LocalizeRequest, Request, StepsRequest


def private_event_fd() -> int:
    fd = int(os.environ["TF_EQUIV_EVENT_FD"])
    # Keep the event pipe away from user code: move it to a high descriptor and close the original.
    private = os.dup(fd)
    os.close(fd)
    return private


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Must precede the first TensorFlow import: the shim and DeterministicRandomTestTool live in
    # tf_keras (TF >= 2.16), which tf.keras only resolves to with this set.
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
    from tf_equiv.run import protocol
    from tf_equiv.worker.channel import Channel
    channel = Channel(private_event_fd())
    try:
        request = requests.decode(argv[0] if len(argv) == 1 else "")
    except requests.RequestError as e:
        channel.send(protocol.Fatal(f"tf-equiv internal error: bad request: {e}"))
        channel.send(protocol.Done())
        return 2
    return dispatch(request, channel)


def dispatch(request: Request, channel: Any) -> int:
    """Run the worker `request` asks for; its events go to `channel`."""
    if isinstance(request, LocalizeRequest):
        from tf_equiv.worker import localize
        return _diagnose(f"{request.side.upper()} side", request, request.side, channel,
                         lambda tf: localize.run(request, tf, channel))
    if isinstance(request, StepsRequest):
        from tf_equiv.worker import bisect
        return _diagnose("bisection", request, "tf1", channel,
                         lambda tf: bisect.run(request, tf, channel))
    if isinstance(request, IntrospectRequest):
        from tf_equiv.worker import introspect
        return _diagnose("introspection", request, "tf1", channel,
                         lambda tf: introspect.run(request, tf))
    from tf_equiv.worker import session
    return session.run_side(request, channel)


def _diagnose(what: str, request: LocalizeRequest | StepsRequest | IntrospectRequest, side: str,
              channel: Any, compute: Callable[[Any], None]) -> int:
    """The frame of a worker that diagnoses a pair (localize, bisect) or reads a source for
    `tf-equiv init` (introspection): TensorFlow set up as the
    run's sides had it, the environment said first (the numerics it ran under), `compute(tf)`,
    whatever goes wrong said as a Fatal event (`what` names the worker: "bisection"), then Done."""
    from tf_equiv.run import protocol
    from tf_equiv.worker.user_code import UserError

    try:
        import tensorflow as tf

        from tf_equiv.worker import compat, config
        options = request.options
        fixes = compat.apply(options.compat_fixes)
        config.configure(tf, options)
        channel.send(protocol.Environment(config.environment(tf, side, options.numerics),
                                          list(fixes)))
        compute(tf)
    except UserError as e:
        channel.send(protocol.Fatal(e.message, e.detail))
    except Exception as exc:  # user code and the graphs it builds may raise anything
        first = (str(exc).strip().splitlines() or [""])[0]
        channel.send(protocol.Fatal(f"{what}: {type(exc).__name__}: {first}",
                                    traceback.format_exc()))
    channel.send(protocol.Done())
    return 0


if __name__ == "__main__":
    sys.exit(main())
