"""The run's stop event. The command's entry point (`tf_equiv.__main__`) sets SIGINT/SIGTERM to it
before anything else is imported, so that a signal in the first moments of `check` also ends in a
report; commands that have nothing to stop give the signals back their default action."""
from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any, Callable, Mapping, Optional, Union

#: A signal's disposition, as signal.signal takes and returns it.
Handler = Union[Callable[[int, Optional[FrameType]], Any], int, signal.Handlers, None]

STOP = threading.Event()
SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []


def install(event: threading.Event = STOP) -> dict[signal.Signals, Handler]:
    """Every SIGINT and SIGTERM from now on, in any number and order, sets `event` (main thread
    only): each side's process group is then killed by the loop that watches it, the cases not
    run are marked interrupted, and the report is written. Returns the handlers replaced."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, frame: Optional[FrameType]) -> None:
        _received.append(signum)
        event.set()

    return {sig: signal.signal(sig, handler) for sig in SIGNALS}


def ignore() -> None:
    """The run is over and reported: a late signal must not turn its exit status into a death
    by signal while the interpreter shuts down (which drops Python-level handlers)."""
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def restore(previous: Mapping[signal.Signals, Handler]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def release() -> None:
    """Give the signals their default action back; one that already came takes it now."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _received:
        os.kill(os.getpid(), _received[0])

