"""The wire format between a side's worker and the parent: JSON events and `.npz` record files.

A worker writes one JSON event per line on its event pipe. Arrays never travel as JSON or pickles:
each check's records are one `.npz` file (read back with `allow_pickle=False`), the event names it.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Literal, Optional

import numpy as np

from tf_equiv.checks import Side
from tf_equiv.errors import RecordsError

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
    order: tuple = ()                # record names in forward order (the side's own view)
    meta: dict = field(default_factory=dict)   # check-specific facts (variable specs, ...)
    line: int = 0                    # a user-code line this outcome points at, if any

    def to_json(self) -> dict:
        out = asdict(self)
        out["order"] = list(self.order)
        out["type"] = "check"
        return out

    @classmethod
    def from_json(cls, data: dict) -> "SideCheck":
        data = {k: v for k, v in data.items() if k != "type"}
        data["order"] = tuple(data.get("order", ()))
        return cls(**data)

    def arrays(self) -> dict:
        """The records, in the order the side produced them; RecordsError names a record that
        cannot be read (pickled objects are never loaded)."""
        if not self.file:
            return {}
        loaded, name = {}, ""
        try:
            with np.load(self.file, allow_pickle=False) as z:
                for name in z.files:
                    loaded[name] = z[name]
        except (OSError, ValueError) as e:
            what = f"record {name!r} of " if name else ""
            raise RecordsError(f"{self.side.upper()} {what}{self.check} in {self.file}: cannot "
                               f"be read ({e})") from None
        names = [n for n in self.order if n in loaded] + [n for n in loaded if n not in self.order]
        return {n: loaded[n] for n in names}


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        return 0o022


def readable(fd: int) -> None:
    """Give a file made by mkstemp (0600) the mode a plain open() would have: the reports and
    records are read by other users (a CI step, a container run as another uid)."""
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    except OSError:
        pass


def save_arrays(path: str, arrays: dict) -> str:
    """Write records to `path` (.npz) atomically; return the path."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=folder)
    readable(fd)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **{name: np.asarray(a) for name, a in arrays.items()})
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
