"""Running the user's code: importing a module by path, calling user functions, and turning what
they raise into a `UserError` whose message names the cause and whose traceback keeps only the
user's frames."""
from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from typing import Any, Callable

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
