"""`tf-equiv init`'s command line read without importing anything: the SOURCE (a file's function,
a module's function or a SavedModel folder), `--inputs NAME=SHAPE:DTYPE` and where the module
goes, each refused with a UsageError that names what is wrong."""
from __future__ import annotations

import keyword
import os
import re
from dataclasses import dataclass
from typing import Literal, Optional, Sequence

from tf_equiv.errors import UsageError
from tf_equiv.protocol.requests import InputSpec

SOURCE_FORMS = "path/to/model.py:function, package.module:function or a SavedModel folder"
#: The dtypes --inputs takes: those numpy makes arrays of (TensorFlow's names).
DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
          "uint16", "bool")


@dataclass(frozen=True)
class Source:
    """What SOURCE names: `where` is the file, the dotted module or the folder."""

    form: Literal["file", "module", "saved_model"]
    where: str
    function: str = ""

    @property
    def request_source(self) -> str:
        """SOURCE as the introspection worker takes it (a file or folder made absolute)."""
        if self.form == "module":
            return f"{self.where}:{self.function}"
        path = os.path.abspath(self.where)
        return f"{path}:{self.function}" if self.form == "file" else path


def parse_source(text: str) -> Source:
    if os.path.isdir(text):
        if not any(os.path.exists(os.path.join(text, f))
                   for f in ("saved_model.pb", "saved_model.pbtxt")):
            raise UsageError(f"SOURCE {text}: a folder without saved_model.pb is not a "
                             f"SavedModel; expected {SOURCE_FORMS}")
        return Source("saved_model", text)
    where, colon, function = text.rpartition(":")
    if not colon or not where:
        raise UsageError(f"SOURCE {text}: no such folder, and no ':function' to take from a "
                         f"file or module; expected {SOURCE_FORMS}")
    if not function.isidentifier() or keyword.iskeyword(function):
        raise UsageError(f"SOURCE {text}: {function!r} is not a function name; expected "
                         f"{SOURCE_FORMS}")
    if where.endswith(".py"):
        if not os.path.isfile(where):
            raise UsageError(f"SOURCE {text}: no such file {where}")
        return Source("file", where, function)
    if not all(part.isidentifier() for part in where.split(".")):
        raise UsageError(f"SOURCE {text}: {where!r} is neither a .py file nor a module name; "
                         f"expected {SOURCE_FORMS}")
    return Source("module", where, function)


_INPUT = re.compile(r"^(?P<name>[^=]+)=(?P<shape>[0-9x]*):(?P<dtype>\w+)$")


def parse_inputs(values: Sequence[str]) -> tuple[InputSpec, ...]:
    """`NAME=1x299x299x3:float32` each (an empty shape is a scalar); names are unique."""
    specs: list[InputSpec] = []
    for value in values:
        match = _INPUT.match(value)
        if not match:
            raise UsageError(f"--inputs {value}: expected NAME=SHAPE:DTYPE, such as "
                             "images=1x299x299x3:float32")
        shape = match["shape"]
        if shape and not all(d.isdigit() and int(d) > 0 for d in shape.split("x")):
            raise UsageError(f"--inputs {value}: the shape {shape!r} is not positive sizes "
                             "joined by x, such as 8x20")
        if match["dtype"] not in DTYPES:
            raise UsageError(f"--inputs {value}: unknown dtype {match['dtype']!r}; known: "
                             f"{', '.join(DTYPES)}")
        if any(s.name == match["name"] for s in specs):
            raise UsageError(f"--inputs {value}: {match['name']!r} is given twice")
        dims = tuple(int(d) for d in shape.split("x")) if shape else ()
        specs.append(InputSpec(match["name"], dims, match["dtype"]))
    return tuple(specs)


def module_name(name: str) -> str:
    """`name` as the stem of an equiv_*.py module and a Python identifier."""
    text = re.sub(r"\W", "_", name).strip("_") or "model"
    text = text[len("equiv_"):] if text.startswith("equiv_") else text
    return f"model_{text}" if text[0].isdigit() else text


def saved_model_name(folder: str) -> str:
    """A SavedModel's name: its folder, or the folder above a numbered version (export/1/)."""
    path = os.path.abspath(folder)
    base = os.path.basename(path)
    return os.path.basename(os.path.dirname(path)) if base.isdigit() else base


def check_out(path: str, option: Optional[str]) -> None:
    """Refuse a module path that would overwrite a file, that has no folder, or that `check`
    would not find (`option`: "--out", or None for the default path)."""
    where = f"{option} {path}" if option else path
    if os.path.isdir(path):
        raise UsageError(f"{where}: is a folder; give the module's file, such as "
                         f"{os.path.join(path, 'equiv_model.py')}")
    if os.path.lexists(path):
        raise UsageError(f"{where}: exists; tf-equiv init never overwrites a file: remove it, "
                         "or write elsewhere with --out FILE")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"{where}: no folder {folder}")
    base = os.path.basename(path)
    if not (base.startswith("equiv_") and base.endswith(".py")):
        raise UsageError(f"{where}: `tf-equiv check` finds modules named equiv_*.py; name it "
                         f"equiv_{module_name(os.path.splitext(base)[0])}.py")


def create(path: str, text: str) -> None:
    """Write a new file, refused if one appeared there meanwhile (never overwritten)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise UsageError(f"{path}: exists; tf-equiv init never overwrites a file") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
