"""The wire format between a side's worker and the parent: JSON events and `.npz` record files.

A worker writes one JSON event per line on its event pipe. Arrays never travel as JSON or pickles:
each check's records are one `.npz` file (read back with `allow_pickle=False`), the event names it.
"""
from __future__ import annotations

import zipfile
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Iterable, Iterator, Literal, Mapping, Optional

import numpy as np

from tf_equiv.checks import Side
from tf_equiv.concurrency import AST_LOCK
from tf_equiv.errors import RecordsError
from tf_equiv.files import atomic_write

Status = Literal["ok", "error", "skipped"]


@dataclass(frozen=True)
class SideCheck:
    """One side's outcome for one check: where its records are, or why there are none."""

    side: Side
    check: str
    status: Status
    message: str = ""                # one line, for error/skipped
    detail: str = ""                 # e.g. the user's trimmed traceback
    file: Optional[str] = None       # .npz with this check's records
    order: tuple[str, ...] = ()      # record names in forward order (the side's own view)
    meta: dict[str, Any] = field(default_factory=dict)  # check-specific facts (variable specs, ...)
    line: int = 0                    # a user-code line this outcome points at, if any

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["order"] = list(self.order)
        out["type"] = "check"
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SideCheck":
        data = {k: v for k, v in data.items() if k != "type"}
        data["order"] = tuple(data.get("order", ()))
        return cls(**data)

    def records(self) -> "Records":
        """The records read one at a time, as they are asked for (a training run's do not fit in
        memory at once); close it, or use it in a `with` block."""
        return Records(self)

    def arrays(self) -> dict[str, np.ndarray]:
        """The records, in the order the side produced them; RecordsError names a record that
        cannot be read (pickled objects are never loaded)."""
        if not self.file:
            return {}
        loaded: dict[str, np.ndarray] = {}
        name = ""
        try:
            with AST_LOCK, np.load(self.file, allow_pickle=False) as z:
                for name in z.files:
                    loaded[name] = z[name]
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            what = f"record {name!r} of " if name else ""
            raise RecordsError(f"{self.side.upper()} {what}{self.check} in {self.file}: cannot "
                               f"be read ({e})") from None
        names = [n for n in self.order if n in loaded] + [n for n in loaded if n not in self.order]
        return {n: loaded[n] for n in names}


class Records(Mapping[str, np.ndarray]):
    """A side's records of one check, each read from its file when asked for; RecordsError names
    a record that cannot be read (pickled objects are never loaded)."""

    def __init__(self, found: SideCheck) -> None:
        self._found = found
        self._z: Any = None
        self._names: dict[str, None] = {}
        if not found.file:
            return
        try:
            self._z = np.load(found.file, allow_pickle=False)
            files = list(self._z.files)
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise self._error("", e) from None
        self._names = dict.fromkeys([n for n in found.order if n in files]
                                    + [n for n in files if n not in found.order])

    def _error(self, name: str, e: Exception) -> RecordsError:
        what = f"record {name!r} of " if name else ""
        return RecordsError(f"{self._found.side.upper()} {what}{self._found.check} in "
                            f"{self._found.file}: cannot be read ({e})")

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._names:
            raise KeyError(name)
        try:
            with AST_LOCK:
                return self._z[name]
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise self._error(name, e) from None

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def close(self) -> None:
        if self._z is not None:
            self._z.close()
            self._z = None

    def __enter__(self) -> "Records":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def save_arrays(path: str, arrays: Mapping[str, Any]) -> str:
    """Write records to `path` (.npz) atomically; return the path."""
    return atomic_write(path, lambda f: _write_npz(f, {name: np.asarray(a)
                                                       for name, a in arrays.items()}), binary=True)


def save_stream(path: str, items: Iterable[tuple[str, Any]]) -> str:
    """Write records to `path` (.npz) atomically as `items` yields them, one array in memory at
    a time (a training run's records, recorded while it trains); return the path."""
    return atomic_write(path, lambda f: _write_npz(f, ((n, np.asarray(a)) for n, a in items)),
                        binary=True)


def _write_npz(f: IO[bytes], arrays: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]]
               ) -> None:
    """The archive np.savez writes (a `<name>.npy` member per array, stored uncompressed), from a
    mapping: np.savez takes the names as keyword arguments, where a record named `file` would
    raise and one named `allow_pickle` would be taken for that option and not saved."""
    items = arrays.items() if isinstance(arrays, Mapping) else arrays
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, array in items:
            with z.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=True)
