"""What the parent relays to a running worker on its stdin: one JSON line, once, after the worker
has started and before it can go on. The TF2 side waits for the TF1 values (`TransferRelay`), the
TF2 localization worker for the TF1 worker's capture (`CaptureRelay`); either may be told instead
why there is none (`ErrorRelay`). Encoded and strictly decoded as the requests are
(requests.py): an unknown kind or field, a missing one or one of the wrong type is a
`RequestError`. No TensorFlow here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import IO, ClassVar, TypeVar, Union

from tf_equiv.protocol import requests  # one strict decoder for both
from tf_equiv.protocol.requests import RequestError


@dataclass(frozen=True)
class TransferRelay:
    """Where the TF1 side's initial values are (an `.npz`), and a training run's batches (an
    `.npz` of `<step>/<input>` records, "" when none) or why there are none."""

    kind: ClassVar[str] = "transfer"
    file: str
    batches: str = ""
    batches_error: str = ""


@dataclass(frozen=True)
class CaptureRelay:
    """The index of the tensors the TF1 localization worker captured."""

    kind: ClassVar[str] = "capture"
    index: str


@dataclass(frozen=True)
class ErrorRelay:
    """Why the worker gets nothing to go on with: the TF1 side failed, ended or was not run."""

    kind: ClassVar[str] = "error"
    error: str
    detail: str = ""


Relay = Union[TransferRelay, CaptureRelay, ErrorRelay]
RELAYS: dict[str, type[Relay]] = {cls.kind: cls for cls in (TransferRelay, CaptureRelay, ErrorRelay)}


def to_json(relay: Relay) -> dict[str, object]:
    return requests.to_json(relay)


def encode(relay: Relay) -> str:
    return requests.encode(relay)


def from_json(data: object) -> Relay:
    """The relay a JSON object stands for; RequestError names what is wrong with it."""
    return requests.tagged(data, RELAYS, "relay")


def decode(text: str) -> Relay:
    """The relay in one JSON line; RequestError also for text that is not JSON."""
    return from_json(requests.parsed(text, "relay not JSON"))


R = TypeVar("R", TransferRelay, CaptureRelay)


def receive(stream: IO[str], expected: type[R], absent: str) -> R | ErrorRelay:
    """Block until the parent relays a line on `stream` (a worker's stdin): a relay of the
    `expected` kind or an error; `absent` is the error when the parent closed it with nothing."""
    line = stream.readline()
    if not line.strip():
        return ErrorRelay(absent)
    relay = decode(line)
    if not isinstance(relay, (expected, ErrorRelay)):
        raise RequestError(f"expected a {expected.kind} relay, got a {relay.kind} relay")
    return relay
