"""Which interpreter runs the TF1 side: `--tf1-python`, else `TF_EQUIV_TF1_PYTHON`, else
`[tool.tf-equiv] tf1-python` in the nearest pyproject.toml above the checked paths. `check`,
`record --side tf1` (where `--python` is not given) and the pytest plugin (whose flag is
`--tf-equiv-tf1-python`) all ask here, so one setting serves them all. No TensorFlow here: the
interpreter is proved to exist before any worker starts."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from types import ModuleType
from typing import Literal, Mapping, Optional, Sequence

from tf_equiv.errors import UsageError


def _toml() -> Optional[ModuleType]:
    """tomllib (Python 3.11+), or the tomli it came from on an older Python; None without both."""
    for name in ("tomllib", "tomli"):
        try:
            return __import__(name)
        except ImportError:
            continue
    return None


VARIABLE = "TF_EQUIV_TF1_PYTHON"
KEY = "tf1-python"
TABLE = "tool.tf-equiv"


@dataclass(frozen=True)
class Setting:
    """Where the TF1 interpreter came from: `value` as written, `origin` in the user's words
    (the flag, the variable, or `FILE [tool.tf-equiv] tf1-python`), `base` the folder a relative
    path is read from."""

    value: str
    source: Literal["flag", "environment", "pyproject"]
    origin: str
    base: str


def tf1_python(flag: Optional[str], paths: Sequence[str],
               environ: Mapping[str, str] = os.environ) -> Optional[str]:
    """The absolute path of the TF1 side's interpreter, or None for this one (the TF2 side's).
    An empty variable means this interpreter and hides the project file (the container images
    set it so). Raises UsageError for one that does not exist."""
    found = setting(flag, paths, environ)
    if found is None or not found.value:
        return None
    return _interpreter(found)


def setting(flag: Optional[str], paths: Sequence[str],
            environ: Mapping[str, str] = os.environ) -> Optional[Setting]:
    """The setting that applies: the flag, then the variable (also when empty), then the nearest
    project file that has a `[tool.tf-equiv]` table."""
    cwd = os.getcwd()
    if flag is not None:
        return Setting(flag, "flag", f"--tf1-python {flag}", cwd)
    if VARIABLE in environ:
        value = environ[VARIABLE]
        return Setting(value, "environment", f"{VARIABLE}={value}", cwd)
    return _from_pyproject(paths)


def _from_pyproject(paths: Sequence[str]) -> Optional[Setting]:
    toml = _toml()
    for path in _project_files(paths):
        try:
            if toml is None:
                with open(path, encoding="utf-8") as text:
                    if "[tool.tf-equiv]" not in text.read():
                        continue
                raise UsageError(f"{path}: reading [{TABLE}] needs Python 3.11 or the tomli "
                                 "package")
            with open(path, "rb") as f:
                data = toml.load(f)
        except (OSError, ValueError) as e:      # TOMLDecodeError is a ValueError
            raise UsageError(f"{path}: cannot read it for [{TABLE}]: {e}") from None
        table = data.get("tool", {}).get("tf-equiv")
        if table is None:
            continue            # another tool's project file: look further up, as ruff does
        if not isinstance(table, dict):
            raise UsageError(f"{path}: [{TABLE}] must be a table")
        value = table.get(KEY)
        if value is None:
            return None
        origin = f"{path} [{TABLE}] {KEY}"
        if not isinstance(value, str) or not value:
            raise UsageError(f"{origin}: expected the path of a Python interpreter, got "
                             f"{value!r}")
        return Setting(value, "pyproject", origin, os.path.dirname(path))
    return None


def _project_files(paths: Sequence[str]) -> list[str]:
    """pyproject.toml files from the checked paths' common folder up to the root, nearest first."""
    folders = [p if os.path.isdir(p) else os.path.dirname(p) or "."
               for p in (os.path.abspath(q) for q in paths or (".",))]
    try:
        folder = os.path.commonpath(folders)
    except ValueError:          # no common folder: none of them decides for the others
        folder = os.getcwd()
    found = []
    while True:
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate):
            found.append(candidate)
        parent = os.path.dirname(folder)
        if parent == folder:
            return found
        folder = parent


def _interpreter(found: Setting) -> str:
    value = found.value
    if os.sep not in value and not os.path.exists(os.path.join(found.base, value)):
        on_path = shutil.which(value)   # a command name, such as python3.10
        if on_path:
            return os.path.abspath(on_path)
    # abspath, not realpath: a virtual environment's python is a link out of the environment,
    # and only the link's own path runs with the environment's packages.
    path = os.path.abspath(os.path.join(os.path.expanduser(found.base),
                                        os.path.expanduser(value)))
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        what = "no such file" if not os.path.exists(path) else "not an executable file"
        fix = {"flag": "pass the python of an environment that has the TF1 side's TensorFlow",
               "environment": f"set {VARIABLE} to such a python, or to nothing for this one",
               "pyproject": f"create that environment, or set {VARIABLE}= (empty) to run "
                            "the TF1 side with this interpreter"}[found.source]
        raise UsageError(f"{found.origin}: {what}: {path}. Hint: {fix}")
    return path

