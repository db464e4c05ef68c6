"""The wire format between a side's worker and the parent: JSON events and `.npz` record files.

A worker writes one JSON event per line on its event pipe. Arrays never travel as JSON or pickles:
each check's records are one `.npz` file (an uncompressed zip of `<record>.npy` members, as
`np.savez` writes), the event names it. Object arrays are never loaded.

String records are stored exactly: numpy's fixed-width `S` and `U` types drop trailing NULs (b"a\0"
would read back as b"a"), so a string record is stored as a structured array of each value and its
length, and read back as an object array of the exact values. A member is read and written with
its `.npy` header parsed once per distinct header and its data copied in blocks: the cost of a
record is its bytes plus a few microseconds, and reading one never holds a second copy of it.
"""
from __future__ import annotations

import functools
import io
import zipfile
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Iterable, Iterator, Literal, Mapping, Optional

import numpy as np

from tf_equiv.ast_lock import AST_LOCK
from tf_equiv.checks import Side
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
        with Records(self) as records:
            return {name: records[name] for name in records}


class Records(Mapping[str, np.ndarray]):
    """A side's records of one check, each read from its file when asked for; RecordsError names
    a record that cannot be read (pickled objects are never loaded). The file is opened and its
    directory read once, whatever the number of records."""

    def __init__(self, found: SideCheck) -> None:
        self._found = found
        self._z: Optional[zipfile.ZipFile] = None
        self._members: dict[str, str] = {}
        if not found.file:
            return
        try:
            self._z = zipfile.ZipFile(found.file)
            members = {_record_name(m): m for m in self._z.namelist()}
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise self._error("", e) from None
        # The side's forward order first, then any record it did not list; by dict lookups, as
        # a check may hold thousands of records.
        self._members = {n: members[n] for n in found.order if n in members}
        self._members.update((n, m) for n, m in members.items() if n not in self._members)

    def _error(self, name: str, e: Exception) -> RecordsError:
        what = f"record {name!r} of " if name else ""
        return RecordsError(f"{self._found.side.upper()} {what}{self._found.check} in "
                            f"{self._found.file}: cannot be read ({e})")

    def __getitem__(self, name: str) -> np.ndarray:
        member = self._members[name]
        try:
            return _read_member(self._z, member)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise self._error(name, e) from None

    def __contains__(self, name: object) -> bool:
        return name in self._members

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

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
                _write_array(member, _encoded(array))


#: Bytes of a record copied at once: bounds the reader's and writer's buffers, whatever the record.
BLOCK = 1 << 20
#: The fields of a string record on disk: each value (bytes or text) and its length.
_STRING_FIELDS: dict[tuple[str, ...], Any] = {("bytes", "length"): b"\0", ("text", "length"): "\0"}


def _record_name(member: str) -> str:
    return member[:-4] if member.endswith(".npy") else member


def _encoded(array: np.ndarray) -> np.ndarray:
    """A string record (an object array of bytes, or of str) as (value, length) pairs, which
    keep trailing NULs; any other array as it is."""
    if array.dtype.kind != "O":
        return array
    values = array.ravel().tolist()
    for kind, field_name, code in ((bytes, "bytes", "S"), (str, "text", "U")):
        if all(isinstance(v, kind) for v in values):
            width = max((len(v) for v in values), default=0) or 1
            out = np.empty(len(values), dtype=[(field_name, f"{code}{width}"), ("length", "<i8")])
            out[field_name] = values
            out["length"] = [len(v) for v in values]
            return out.reshape(array.shape)
    return array        # refused when read: object arrays are never unpickled


def _decoded(array: np.ndarray) -> np.ndarray:
    """The exact values of a string record stored by `_encoded`."""
    names = array.dtype.names or ()
    pad = _STRING_FIELDS.get(names) if len(names) == 2 else None
    if pad is None:
        return array
    values = array[names[0]].ravel().tolist()
    lengths = array["length"].ravel().tolist()
    if any(len(v) > n for v, n in zip(values, lengths)):
        raise ValueError("a string is longer than its stored length")
    out = np.empty(len(values), dtype=object)
    out[:] = [v + pad * (n - len(v)) for v, n in zip(values, lengths)]
    return out.reshape(array.shape)


@functools.lru_cache(maxsize=4096)
def _header(dtype: np.dtype, shape: tuple[int, ...], fortran: bool) -> bytes:
    """The `.npy` header numpy writes for such an array (records of one check share a few)."""
    out = io.BytesIO()
    data = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": fortran,
            "shape": shape}
    try:
        np.lib.format.write_array_header_1_0(out, data)
    except ValueError:      # a header too long for format 1.0
        out = io.BytesIO()
        np.lib.format.write_array_header_2_0(out, data)
    return out.getvalue()


def _write_array(member: IO[bytes], array: np.ndarray) -> None:
    """What np.lib.format.write_array writes, without a copy of the record: the header, then the
    array's memory in blocks."""
    if array.dtype.hasobject or array.dtype.itemsize == 0:
        np.lib.format.write_array(member, array, allow_pickle=True)
        return
    fortran = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    member.write(_header(array.dtype, tuple(array.shape), fortran))
    flat = (array.T if fortran else np.ascontiguousarray(array)).reshape(-1).view(np.uint8)
    for start in range(0, flat.size, BLOCK):
        member.write(memoryview(flat[start:start + BLOCK]))  # type: ignore[arg-type]


@functools.lru_cache(maxsize=4096)
def _parsed_header(version: bytes, header: bytes) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) of a `.npy` header, parsed by numpy once per header."""
    read = {b"\x01\x00": np.lib.format.read_array_header_1_0,
            b"\x02\x00": np.lib.format.read_array_header_2_0}[version]
    size = len(header).to_bytes(2 if version == b"\x01\x00" else 4, "little")
    return read(io.BytesIO(size + header))


def _read_member(z: Any, member: str) -> np.ndarray:
    """One `.npy` member of an open archive, as np.load(allow_pickle=False) reads it."""
    with z.open(member) as f:
        start = f.read(8)
        if start[:6] != np.lib.format.MAGIC_PREFIX:
            raise ValueError(f"{member} is no .npy array")
        version = start[6:8]
        if version not in (b"\x01\x00", b"\x02\x00"):
            with z.open(member) as again, AST_LOCK:     # a rarer version: numpy's own reader
                return _decoded(np.lib.format.read_array(again, allow_pickle=False))
        size = f.read(2 if version == b"\x01\x00" else 4)
        header = f.read(int.from_bytes(size, "little"))
        with AST_LOCK:      # numpy parses a header with ast (see AST_LOCK)
            shape, fortran, dtype = _parsed_header(version, header)
        if dtype.hasobject:
            raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
        count = 1
        for n in shape:
            count *= n
        flat = np.empty(count, dtype=dtype)
        data = flat.view(np.uint8) if dtype.itemsize else flat
        for start_at in range(0, data.size if dtype.itemsize else 0, BLOCK):
            block = memoryview(data[start_at:start_at + BLOCK])  # type: ignore[arg-type]
            if f.readinto(block) != len(block):
                raise EOFError(f"{member} is truncated")
        array = flat.reshape(shape[::-1]).transpose() if fortran else flat.reshape(shape)
    return _decoded(array)
