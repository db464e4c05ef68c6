"""What both sides share: the event channel, user-module loading, output flattening, tracebacks."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import traceback
from typing import Any, Callable, Iterator, Optional

import numpy as np

from tf_equiv.checks import Side
from tf_equiv.run import protocol
from tf_equiv.run.records import SideCheck, save_arrays

SEED = 42
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Channel:
    """Events to the parent on a private pipe; user prints go to the side's log, never here."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "w", buffering=1, encoding="utf-8")

    def send(self, event: protocol.Event) -> None:
        self._file.write(protocol.encode(event) + "\n")
        self._file.flush()


class UserError(Exception):
    """User code raised: carries the one-line message and the traceback trimmed to user frames."""

    def __init__(self, message: str, detail: str = "", line: int = 0) -> None:
        super().__init__(message)
        self.message, self.detail, self.line = message, detail, line


#: Packages whose frames are never the user's, wherever they are installed.
LIBRARIES = ("tensorflow", "tf_keras", "keras", "tf_slim", "numpy", "absl", "ml_dtypes")


def _library_dirs() -> tuple[str, ...]:
    dirs = [_PACKAGE_DIR, os.path.dirname(os.__file__)]
    for name in LIBRARIES:
        file = getattr(sys.modules.get(name), "__file__", None)
        if file:
            dirs.append(os.path.dirname(os.path.abspath(file)))
    return tuple(d + os.sep for d in dirs)


def is_user_file(filename: str) -> bool:
    """A frame of the user's code: not the standard library, an installed package, TensorFlow or
    the other libraries wherever they live, autograph's generated code, or tf-equiv itself."""
    f = os.path.abspath(filename)
    if filename.startswith("<") or "__autograph_generated_file" in os.path.basename(f):
        return False
    if "site-packages" in f or "dist-packages" in f:
        return False
    return not f.startswith(_library_dirs())


def cause_line(exc: BaseException) -> str:
    """The line of an exception's message that says what went wrong. TensorFlow wraps errors
    raised inside tf.function as "in user code: <frames> <the error>", and Keras wraps errors in
    a layer's call as "Exception encountered when calling layer ...: <the error> Call arguments
    ...": the cause is the last line of the first, the first paragraph inside the second."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    # Keras appends the call's arguments ("Call arguments received ...", then "• x=...").
    end = next((i for i, line in enumerate(lines) if line.startswith("Call arguments received")),
               len(lines))
    lines = [line for line in lines[:end] if not line.startswith("•")]
    if lines and lines[0].startswith("Exception encountered when calling"):
        lines = lines[1:] or lines
    if not lines:
        return ""
    return lines[-1] if lines[0].startswith("in user code:") else lines[0]


def user_error(what: str, exc: BaseException) -> UserError:
    """Turn an exception from user code into a UserError with a trimmed traceback."""
    frames = [fr for fr in traceback.extract_tb(exc.__traceback__) if is_user_file(fr.filename)]
    text = "".join(traceback.format_list(frames))
    text += "".join(traceback.format_exception_only(type(exc), exc))
    last = frames[-1] if frames else None
    where = f" ({os.path.basename(last.filename)}:{last.lineno})" if last else ""
    cause = cause_line(exc)
    name = type(exc).__name__
    cause = cause[len(name) + 2:] if cause.startswith(f"{name}: ") else cause
    message = f"{what} raised {name}: {cause}{where}"
    return UserError(message, "Traceback (user frames only):\n" + text,
                     (last.lineno or 0) if last else 0)


def as_user_error(what: str, exc: BaseException) -> UserError:
    return exc if isinstance(exc, UserError) else user_error(what, exc)


def call_user(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except UserError:
        raise
    except Exception as exc:  # the user's code may raise anything
        raise user_error(what, exc) from None


def load_module(path: str) -> Any:
    """Import a user module by path, its folder first on sys.path (as pytest's rootdir-less import)."""
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise user_error(f"importing {os.path.basename(path)}", exc) from None
    return module


def resolve_inputs(pair: Any) -> Any:
    """The pair's inputs as nested numpy arrays (calling `inputs` when it is a function); a leaf
    that is no array (a generator, an arbitrary object) is an error naming the field."""
    value = call_user("inputs()", pair.inputs) if callable(pair.inputs) else pair.inputs
    arrays = map_nested(value, np.asarray)
    for path, leaf in flatten(arrays, "inputs"):
        if leaf.dtype.kind == "O":
            found = leaf.item() if leaf.ndim == 0 else next(
                (v for v in leaf.ravel().tolist() if not isinstance(v, (int, float, bool))),
                leaf.ravel()[0])
            where = "" if path == "inputs" else f" at {path}"
            raise UserError("inputs: expected arrays or a nested structure of arrays (tuples, "
                            f"lists, dicts), got {type(found).__name__}{where}")
    if not any(True for _ in flatten(arrays, "inputs")):
        raise UserError("inputs: expected arrays or a nested structure of arrays, got an empty "
                        "structure")
    return arrays


def inputs_sha256(inputs: Any) -> str:
    """A digest of the inputs (names, dtypes, shapes and bytes), to tell stale stored records."""
    digest = hashlib.sha256()
    for name, array in flatten(inputs, "inputs"):
        array = np.ascontiguousarray(array)
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def map_nested(value: Any, fn: Callable[[Any], Any]) -> Any:
    """Map leaves of tuples, lists and dicts (dict order kept), keeping the structure."""
    if isinstance(value, dict):
        return {k: map_nested(v, fn) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(map_nested(v, fn) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(map_nested(v, fn) for v in value)
    return fn(value)


def flatten(value: Any, prefix: str = "outputs") -> Iterator[tuple[str, Any]]:
    """(path, leaf) pairs in structure order: dicts as inserted, tuples and lists by index."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flatten(v, f"{prefix}/{k}")
    elif isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            yield from flatten(v, f"{prefix}/{i}")
    elif value is not None:
        yield prefix, value


def record_name(variable_name: str) -> str:
    """A variable's name without the output index (`dense/kernel:0` -> `dense/kernel`)."""
    return variable_name[:-2] if variable_name.endswith(":0") else variable_name


def portable(arrays: dict) -> tuple[dict, dict]:
    """(arrays numpy reads without ml_dtypes, {record: format} of the upcast ones): bfloat16 and
    the float8 formats become float32, int4 and the like int64; each holds their values exactly."""
    out, formats = {}, {}
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


def write_check(out_dir: str, side: Side, check: str, arrays: dict, order: list,
                meta: Optional[dict] = None) -> SideCheck:
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

