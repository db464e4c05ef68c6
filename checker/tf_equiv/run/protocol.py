"""The worker protocol: one dataclass per event a side's worker sends the parent, and the one
decoder every reader uses. No TensorFlow here.

A worker writes one JSON object per line on its private event pipe, in this order: `environment`,
then `module` (the pairs its module declares), then for the pair it runs `pair` (its settings),
`inputs`, the TF1 side's `transfer` (where the TF2 side finds the TF1 values), one `check` per
check, and `done`; `fatal` replaces the rest when the module or pair cannot run. Arrays never travel
as JSON: a check's records are one `.npz` file the `check` event names (`records.SideCheck`).

`decode` rejects a line of an unknown kind or with missing or unknown fields (ProtocolError); it
returns None only for a line that is not JSON at all (a write torn by a crash).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional, Union

from tf_equiv.run.records import SideCheck


class ProtocolError(ValueError):
    """A worker's line that is JSON but not an event of this protocol."""


@dataclass(frozen=True)
class Environment:
    """What the side runs on (versions, device, numerics) and the compatibility fixes applied."""

    kind: ClassVar[str] = "environment"
    environment: dict[str, Any] = field(default_factory=dict)
    compat_fixes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModulePairs:
    """The pairs the module declares: each {"name", "line", "settings"}."""

    kind: ClassVar[str] = "module"
    pairs: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class PairSettings:
    """The pair's settings as the worker read them (tolerances, checks planned, marks, ...)."""

    kind: ClassVar[str] = "pair"
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Inputs:
    """The digest of the resolved inputs, and (TF2 side) the file they were saved to."""

    kind: ClassVar[str] = "inputs"
    sha256: str = ""
    file: Optional[str] = None


@dataclass(frozen=True)
class Transfer:
    """The TF1 side's initial values: their `.npz` file and order, or why there are none; and
    the batches of a training run (`batches`, an `.npz` of `<step>/<input>` records), or why
    there are none (`batches_error`)."""

    kind: ClassVar[str] = "transfer"
    file: Optional[str] = None
    order: list[str] = field(default_factory=list)
    error: Optional[str] = None
    batches: Optional[str] = None
    batches_error: Optional[str] = None


@dataclass(frozen=True)
class Fatal:
    """The module or pair cannot run at all: every check of the pair gets this error."""

    kind: ClassVar[str] = "fatal"
    message: str = ""
    detail: str = ""
    line: int = 0


@dataclass(frozen=True)
class Captured:
    """Localization, TF1 side: the index of the tensors it wrote (one `.npy` each, beside it)."""

    kind: ClassVar[str] = "captured"
    index: str = ""


@dataclass(frozen=True)
class Localized:
    """Localization, TF2 side: its findings (the first divergent op, the aligned ops, shadow
    mode)."""

    kind: ClassVar[str] = "localized"
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Bisected:
    """A failed training run's bisection (worker/bisect.py): the first step that differs when
    both sides start it from TF1's state, or that none does."""

    kind: ClassVar[str] = "bisected"
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Done:
    """The worker finished normally (a side without it crashed, timed out or was stopped)."""

    kind: ClassVar[str] = "done"


Event = Union[Environment, ModulePairs, PairSettings, Inputs, Transfer, SideCheck, Fatal, Captured,
              Localized, Bisected, Done]
KINDS: dict[str, type] = {cls.kind: cls for cls in (Environment, ModulePairs, PairSettings, Inputs,
                                                      Transfer, Fatal, Captured, Localized,
                                                      Bisected, Done)}
KINDS["check"] = SideCheck


def to_json(event: Event) -> dict[str, Any]:
    if isinstance(event, SideCheck):
        return event.to_json()
    return {"type": type(event).kind, **dataclasses.asdict(event)}


def encode(event: Event) -> str:
    return json.dumps(to_json(event), default=str)


def from_json(data: Any) -> Event:
    """The event a JSON object stands for; ProtocolError names what is wrong with it."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError(f"not an event (no \"type\"): {str(data)[:80]}")
    cls = KINDS.get(data["type"])
    if cls is None:
        raise ProtocolError(f"unknown event kind {data['type']!r}; known: {', '.join(KINDS)}")
    names = {f.name for f in dataclasses.fields(cls)}
    payload = {k: v for k, v in data.items() if k != "type"}
    unknown = sorted(set(payload) - names)
    if unknown:
        raise ProtocolError(f"{data['type']} event with unknown fields: {', '.join(unknown)}")
    if cls is SideCheck:
        missing = [n for n in ("side", "check", "status") if n not in payload]
        if missing:
            raise ProtocolError(f"check event without {', '.join(missing)}")
        return SideCheck.from_json(payload)
    return cls(**payload)


def decode(line: str) -> Optional[Event]:
    """The event on one line; None for a line that is not JSON (a write torn by a crash)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return from_json(data)
