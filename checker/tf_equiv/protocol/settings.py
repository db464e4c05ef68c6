"""A pair's settings as the worker read them from its `Pair`, typed: what the verdict compares
with, what planning runs, and the one place their defaults are written (`pair.Pair` and
`pair.Train` take theirs from here). No TensorFlow here.

They travel as JSON inside the `pair` and `module` events (run/protocol.py). `from_json` rejects a
key it does not know, as the event decoder does; a key left out takes its default, so a settings
object written by hand (a test's, say) names only what it changes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping, Optional, Union

DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-5
DEFAULT_CONSTANT = 0.001
#: `training_run`: optimizer steps, steps between recordings of every variable, training mode,
#: and how many times the run's own noise the sides may differ by.
DEFAULT_STEPS = 100
DEFAULT_EVERY = 10
DEFAULT_TRAINING = True
DEFAULT_NOISE_FACTOR = 10.0

#: A JSON object as `json.loads` returns it.
JSON = Mapping[str, object]


class SettingsError(ValueError):
    """Settings that are not a pair's settings of this version (a checker bug: users write a
    `Pair`, never its settings)."""


@dataclass(frozen=True)
class TrainSettings:
    """A `tf_equiv.Train` without its batches (the worker reads those itself)."""

    steps: int = DEFAULT_STEPS
    every: int = DEFAULT_EVERY
    training: bool = DEFAULT_TRAINING
    noise_factor: float = DEFAULT_NOISE_FACTOR

    def to_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: object) -> TrainSettings:
        value = _object(data, "train")
        _known(cls, value, "train")
        return cls(steps=_int(value, "steps", DEFAULT_STEPS, "train."),
                   every=_int(value, "every", DEFAULT_EVERY, "train."),
                   training=_bool(value, "training", DEFAULT_TRAINING, "train."),
                   noise_factor=_number(value, "noise_factor", DEFAULT_NOISE_FACTOR, "train."))


@dataclass(frozen=True)
class PairSettings:
    """What the parent needs of a `Pair`: its tolerances, its checks as the worker planned them
    ((check, skip reason or None), in order; empty: the parent's own plan stands), its marks,
    the line it is declared at, and what is wrong with its fields (every check then reports it)."""

    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    tolerances: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    checks: tuple[tuple[str, Optional[str]], ...] = ()
    skip: Optional[str] = None
    xfail: Optional[str] = None
    timeout: Optional[float] = None
    constant: float = DEFAULT_CONSTANT
    line: int = 0
    problems: tuple[str, ...] = ()
    train: Optional[TrainSettings] = None

    def to_json(self) -> dict[str, object]:
        return {"rtol": self.rtol, "atol": self.atol,
                "tolerances": {k: list(v) for k, v in self.tolerances.items()},
                "checks": [list(c) for c in self.checks], "skip": self.skip, "xfail": self.xfail,
                "timeout": self.timeout, "constant": self.constant, "line": self.line,
                "problems": list(self.problems),
                "train": self.train.to_json() if self.train else None}

    @classmethod
    def from_json(cls, data: object) -> PairSettings:
        """The settings a JSON object stands for; SettingsError names what is wrong with it."""
        value = _object(data, "pair settings")
        _known(cls, value, "pair settings")
        train = value.get("train")
        return cls(rtol=_number(value, "rtol", DEFAULT_RTOL),
                   atol=_number(value, "atol", DEFAULT_ATOL),
                   tolerances=_tolerances(value.get("tolerances", {})),
                   checks=_checks(value.get("checks", [])),
                   skip=_text(value, "skip"), xfail=_text(value, "xfail"),
                   timeout=_optional_number(value, "timeout"),
                   constant=_number(value, "constant", DEFAULT_CONSTANT),
                   line=_int(value, "line", 0),
                   problems=tuple(_strings(value.get("problems", []), "problems")),
                   train=None if train is None else TrainSettings.from_json(train))

    @classmethod
    def of(cls, settings: Union[PairSettings, JSON]) -> PairSettings:
        """Typed settings from either form (an event carries the JSON one)."""
        return settings if isinstance(settings, PairSettings) else cls.from_json(settings)


def _object(data: object, what: str) -> JSON:
    if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
        raise SettingsError(f"{what}: expected an object, got {type(data).__name__}")
    return data


def _known(cls: type[PairSettings] | type[TrainSettings], data: JSON, what: str) -> None:
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise SettingsError(f"{what} with unknown keys: {', '.join(unknown)}")


def _is_number(value: object) -> bool:
    # bool is an int to Python, never a tolerance. An int stays one: reports show it as given.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(data: JSON, key: str, default: float, where: str = "") -> float:
    value = data.get(key, default)
    if not _is_number(value):
        raise SettingsError(f"pair settings: {where}{key} must be a number, got {value!r}")
    assert isinstance(value, (int, float))
    return value


def _optional_number(data: JSON, key: str) -> Optional[float]:
    return None if data.get(key) is None else _number(data, key, 0.0)


def _int(data: JSON, key: str, default: int, where: str = "") -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise SettingsError(f"pair settings: {where}{key} must be an integer, got {value!r}")
    return value


def _bool(data: JSON, key: str, default: bool, where: str = "") -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise SettingsError(f"pair settings: {where}{key} must be true or false, got {value!r}")
    return value


def _text(data: JSON, name: str) -> Optional[str]:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise SettingsError(f"pair settings: {name} must be a string or null, got {value!r}")
    return value


def _strings(value: object, name: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"pair settings: {name} must be a list of strings, got {value!r}")
    return list(value)


def _tolerances(value: object) -> dict[str, tuple[float, float]]:
    ok = isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, (list, tuple)) and len(v) == 2
        and all(map(_is_number, v)) for k, v in value.items())
    if not ok:
        raise SettingsError(f"pair settings: tolerances must map globs to [rtol, atol], "
                            f"got {value!r}")
    assert isinstance(value, Mapping)
    return {k: (v[0], v[1]) for k, v in value.items()}


def _checks(value: object) -> tuple[tuple[str, Optional[str]], ...]:
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(c, (list, tuple)) and len(c) == 2 and isinstance(c[0], str)
        and (c[1] is None or isinstance(c[1], str)) for c in value)
    if not ok:
        raise SettingsError(f"pair settings: checks must be [check, skip reason or null] pairs, "
                            f"got {value!r}")
    assert isinstance(value, (list, tuple))
    return tuple((c[0], c[1]) for c in value)
