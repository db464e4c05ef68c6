"""Writing files so that a reader never sees half of one: every file tf-equiv writes (records,
reports, timings, stored records, artifacts) goes through `atomic_write`. No TensorFlow here."""
from __future__ import annotations

import json
import os
import tempfile
from typing import IO, Any, Callable


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        return 0o022


def atomic_write(path: str, write: Callable[[IO[Any]], object], binary: bool = False) -> str:
    """Write `path` through `write(file)` into a temporary file beside it, then rename it over
    `path`: a reader sees the old file or the whole new one, a link placed at `path` is replaced
    (never written through), and a failed write leaves no temporary file. The file gets the mode a
    plain open() would give it (mkstemp's is 0600): reports and records are read by other users (a
    CI step, a container run as another uid). Returns `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".tf-equiv-", suffix=suffix, dir=folder)
    try:
        try:
            os.fchmod(fd, 0o666 & ~_umask())
        except OSError:
            pass
        stream: IO[Any] = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8")
        with stream as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_json(path: str, data: object, **dump: Any) -> str:
    """`data` as JSON at `path`, atomically (json.dump's options in `dump`)."""
    return atomic_write(path, lambda f: json.dump(data, f, **dump))
