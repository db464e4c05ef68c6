"""The event channel: a worker's events to the parent, one JSON line each, on a private pipe."""
from __future__ import annotations

import os

from tf_equiv.run import protocol


class Channel:
    """Events to the parent on a private pipe; user prints go to the side's log, never here."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "w", buffering=1, encoding="utf-8")

    def send(self, event: protocol.Event) -> None:
        self._file.write(protocol.encode(event) + "\n")
        self._file.flush()
