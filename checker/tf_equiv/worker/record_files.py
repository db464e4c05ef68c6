"""A side's records of one check written to its `.npz` file (dtypes numpy cannot read upcast
exactly, strings kept), and the check's error result when it raised."""
from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from tf_equiv.checks import Side
from tf_equiv.run.records import SideCheck, save_arrays
from tf_equiv.worker.user_code import UserError, as_user_error


def record_name(variable_name: str) -> str:
    """A variable's name without the output index (`dense/kernel:0` -> `dense/kernel`)."""
    return variable_name[:-2] if variable_name.endswith(":0") else variable_name


def portable(arrays: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(arrays numpy reads without ml_dtypes, {record: format} of the upcast ones): bfloat16 and
    the float8 formats become float32, int4 and the like int64; each holds their values exactly."""
    out: dict[str, np.ndarray] = {}
    formats: dict[str, str] = {}
    for name, value in arrays.items():
        a = np.asarray(value)
        if a.dtype.kind == "O":
            a = _strings(name, a)
        elif a.dtype.type.__module__.startswith("ml_dtypes"):
            formats[name] = a.dtype.name
            a = a.astype(np.int64 if "int" in a.dtype.name else np.float32)
        out[name] = a
    return out, formats


def _strings(name: str, a: np.ndarray) -> np.ndarray:
    """A string tensor's values (numpy object arrays of bytes), kept as they are: the records file
    stores them exactly, without pickles (run.records), and the comparison requires them equal."""
    values = a.ravel().tolist()
    if all(isinstance(v, bytes) for v in values) or all(isinstance(v, str) for v in values):
        return a
    kinds = sorted({type(v).__name__ for v in values})
    raise UserError(f"{name}: a record of Python objects ({', '.join(kinds)}) cannot be "
                    "compared; return tensors (numbers, booleans or strings)")


def write_check(out_dir: str, side: Side, check: str, arrays: Mapping[str, Any],
                order: Sequence[str], meta: Optional[dict[str, Any]] = None) -> SideCheck:
    safe = check.replace("[", "_").replace("]", "")
    arrays, formats = portable(arrays)
    meta = {**(meta or {}), **({"dtypes": formats} if formats else {})}
    path = save_arrays(os.path.join(out_dir, f"{side}-{safe}.npz"), arrays)
    return SideCheck(side, check, "ok", file=path, order=tuple(order), meta=meta)


def error_result(side: Side, check: str, exc: UserError) -> SideCheck:
    return SideCheck(side, check, "error", message=exc.message, detail=exc.detail, line=exc.line)


def guarded(side: Side, check: str, what: str, compute: Callable[[], SideCheck]) -> SideCheck:
    """`compute()`, or the check's error result when it raises (`what` ran: "the TF2 gradients
    run"): one check's failure never stops the side's other checks."""
    try:
        return compute()
    except Exception as exc:  # user code may raise anything
        return error_result(side, check, as_user_error(what, exc))
