"""The requests the parent sends its workers: one frozen dataclass per worker kind, each carrying
the run's `RunOptions`, sent as one JSON document (the worker's one argument) and decoded by one
strict decoder, as the events coming back are (run/protocol.py). No TensorFlow here.

A field added to `RunOptions` reaches every worker kind of a run: the side workers, the noise run
of a training run, localization and the step-wise run all open their graphs under the same
numerics, compatibility fixes and threads as the run whose failure they diagnose.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Union

from tf_equiv.checks import Side, Weights  # the check table's vocabulary


class RequestError(ValueError):
    """A worker's argument that is not a request of this protocol (a checker bug: the user never
    writes one)."""


@dataclass(frozen=True)
class Numerics:
    """How the graphs of a run are optimized.

    The eager TF2 side runs every op as written, with no graph optimizer: the TF1 graph it is
    compared with runs the same way (grappler's meta-optimizer off), so that fused kernels and
    folded constants, whose rounding depends on the CPU, never tell a correct migration from a
    wrong one. Only `tf_function` compares optimized graphs, on both sides: the TF2 trace and the
    TF1 graph with their default passes. `tf1_optimized` keeps TF1's passes on in every check.
    """

    grappler_off: tuple[str, ...] = ()     # passes turned off wherever grappler runs
    tf1_optimized: bool = False

    def tf1_describe(self) -> str:
        every = "on in every check" if self.tf1_optimized else \
            "off (meta-optimizer disabled, as the eager TF2 side runs); on for tf_function"
        return every + self._without()

    def tf2_describe(self) -> str:
        return "none (eager); on for tf_function" + self._without()

    def _without(self) -> str:
        return f", without {', '.join(self.grappler_off)}" if self.grappler_off else ""


@dataclass(frozen=True)
class RunOptions:
    """What every worker of one run is told: the options that change the numbers, and the cores
    it may use. Timeouts stay with the parent, which enforces them."""

    numerics: Numerics = Numerics()
    compat_fixes: bool = True
    threads: int = 0                       # TensorFlow's thread pools; 0: its default

    def flags(self) -> tuple[str, ...]:
        """The command-line options that give these numbers again (the re-run command)."""
        flags = [f"--grappler-off={p}" for p in self.numerics.grappler_off]
        if self.numerics.tf1_optimized:
            flags.append("--tf1-optimized")
        if not self.compat_fixes:
            flags.append("--no-compat-fixes")
        return tuple(flags)


@dataclass(frozen=True)
class SideRequest:
    """Run `checks` of `pair` on one side; an empty `pair` only lists the module's pairs."""

    kind: ClassVar[str] = "side"
    module: str
    pair: str
    side: Side
    out: str
    checks: tuple[str, ...] = ()
    any_check: bool = False                # also checks the pair's own `checks` leave out
    options: RunOptions = RunOptions()


@dataclass(frozen=True)
class NoiseRequest:
    """The TF1 side's training run alone, recording only what the noise band reads (run/kernels.py
    starts it with oneDNN off in its environment)."""

    kind: ClassVar[str] = "noise"
    module: str
    pair: str
    out: str
    options: RunOptions = RunOptions()


@dataclass(frozen=True)
class LocalizeRequest:
    """One side of a localization (worker/localize.py): capture (TF1) or compare (TF2) every
    intermediate tensor of the pair's inference at `weights`."""

    kind: ClassVar[str] = "localize"
    module: str
    pair: str
    side: Side
    weights: Weights
    out: str
    limit_bytes: int                       # TF1 stops capturing past this many bytes
    options: RunOptions = RunOptions()


@dataclass(frozen=True)
class StepsRequest:
    """Steps `first`..`last` of a training run again, each on both sides from TF1's state
    (worker/bisect.py)."""

    kind: ClassVar[str] = "steps"
    module: str
    pair: str
    records: str                           # the TF1 side's training_run records
    batches: str
    transfer: str                          # the TF1 values both sides start from
    first: int
    last: int
    floor: float
    factor: float                          # Train.noise_factor
    atol: float
    options: RunOptions = RunOptions()


@dataclass(frozen=True)
class InputSpec:
    """One input `tf-equiv init` was given (`--inputs NAME=SHAPE:DTYPE`) or found."""

    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class IntrospectRequest:
    """What `tf-equiv init` needs to know about a TF1 source (worker/introspect.py): its kind,
    its inputs' shapes and dtypes, written as JSON to `out` (protocol/introspection.py)."""

    kind: ClassVar[str] = "introspect"
    source: str                            # file.py:function, module:function or a folder
    out: str
    inputs: tuple[InputSpec, ...] = ()
    signature: str = "serving_default"
    tags: tuple[str, ...] = ("serve",)
    options: RunOptions = RunOptions()


Request = Union[SideRequest, NoiseRequest, LocalizeRequest, StepsRequest, IntrospectRequest]
REQUESTS: dict[str, type[Request]] = {
    cls.kind: cls for cls in (SideRequest, NoiseRequest, LocalizeRequest, StepsRequest,
                              IntrospectRequest)}


_D = typing.TypeVar("_D")


def to_json(message: Any) -> dict[str, Any]:
    """A request or relay as its JSON object: its kind, then its fields."""
    return {"kind": message.kind, **dataclasses.asdict(message)}


def encode(message: Any) -> str:
    return json.dumps(to_json(message), separators=(",", ":"))


def from_json(data: object) -> Request:
    """The request a JSON object stands for; RequestError names what is wrong with it."""
    return tagged(data, REQUESTS, "request")


def decode(text: str) -> Request:
    """The request in one JSON document; RequestError also for text that is not JSON."""
    return from_json(parsed(text, "not JSON"))


def tagged(data: object, kinds: dict[str, type[_D]], noun: str) -> _D:
    """The message of one of `kinds` that a JSON object names by its "kind"; every field checked
    strictly (the one decoder of requests and relays)."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(kind, str):
        raise RequestError(f"not a {noun} (no \"kind\"): {str(data)[:80]}")
    if kind not in kinds:
        raise RequestError(f"unknown {noun} kind {kind!r}; known: {', '.join(kinds)}")
    return _build(kinds[kind], {k: v for k, v in data.items() if k != "kind"}, f"{kind} {noun}")


def parsed(text: str, not_json: str) -> object:
    """The JSON document in `text`; RequestError (`not_json: why`) for text that is not JSON."""
    try:
        return json.loads(text)
    except ValueError as e:
        raise RequestError(f"{not_json}: {e}") from None


def _build(cls: type[_D], payload: dict[str, object], what: str) -> _D:
    """`cls` from a JSON object: every required field present, none unknown, each of its type."""
    fields = {f.name: f for f in dataclasses.fields(cls)}   # type: ignore[arg-type]
    unknown = sorted(set(payload) - set(fields))
    if unknown:
        raise RequestError(f"{what} with unknown fields: {', '.join(unknown)}")
    missing = [n for n, f in fields.items() if n not in payload
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise RequestError(f"{what} without {', '.join(missing)}")
    hints = typing.get_type_hints(cls)
    return cls(**{n: _value(hints[n], v, f"{what}: {n}") for n, v in payload.items()})


def _value(hint: Any, value: object, what: str) -> object:
    """`value` as the field's type (a list becomes a tuple); RequestError if it is not one."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise RequestError(f"{what} must be one of {', '.join(typing.get_args(hint))}, "
                               f"got {value!r}")
        return value
    if origin is tuple:
        item = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise RequestError(f"{what} must be a list, got {type(value).__name__}")
        return tuple(_value(item, v, what) for v in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise RequestError(f"{what} must be an object, got {type(value).__name__}")
        return _build(hint, value, what)
    # bool is an int to Python, never to a request; an int is a float to JSON.
    ok = (type(value) is bool) if hint is bool else \
        (type(value) in (int, float)) if hint is float else isinstance(value, hint) and \
        not isinstance(value, bool)
    if not ok:
        raise RequestError(f"{what} must be {hint.__name__}, got {type(value).__name__}")
    return float(value) if hint is float else value   # type: ignore[arg-type]
