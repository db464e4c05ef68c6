"""Paths -> equivalence modules -> declared pairs, read from the syntax tree (nothing is imported)."""
from __future__ import annotations

import ast
import fnmatch
import os
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Optional, Sequence

from tf_equiv.ast_lock import AST_LOCK
from tf_equiv.errors import UsageError
from tf_equiv.protocol.settings import PairSettings

PATTERN = "equiv_*.py"
SKIP_DIRS = {".git", "site-packages", "node_modules", "__pycache__"}


@dataclass(frozen=True)
class DeclaredPair:
    """A pair of a module: a `name = Pair(...)` statement, with the fields whose values are
    literals; or a pair a worker found when it imported the module, with the settings it read."""

    name: str
    line: int
    literals: dict[str, Any] = field(default_factory=dict)   # field -> literal value
    fields: frozenset[str] = frozenset()                      # every keyword given
    #: The settings a worker read, for a pair found at run time; None for one read in the source.
    settings: Optional[PairSettings] = None
    #: `tf1=SavedModel(...)` (or `tf_equiv.SavedModel(...)`) in the source: a loaded TF1 graph.
    tf1_loaded: bool = False

    @property
    def skip(self) -> Optional[str]:
        """Its `skip` reason, where one is known before it runs."""
        value = self.settings.skip if self.settings else self.literals.get("skip")
        return value if isinstance(value, str) else None

    @property
    def timeout(self) -> Optional[float]:
        """Its own `timeout`, where a valid one is known before it runs."""
        value = self.settings.timeout if self.settings else self.literals.get("timeout")
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        return value if ok else None

    def without_skip(self) -> DeclaredPair:
        """The pair with no `skip`: a bad field outranks it (as the worker judges it), so the
        worker must run to say what is wrong."""
        return replace(self, literals={k: v for k, v in self.literals.items() if k != "skip"},
                       settings=self.settings and replace(self.settings, skip=None))


@dataclass(frozen=True)
class Module:
    """One equiv_*.py file: its pairs, or why it could not be read."""

    path: str          # absolute
    display: str       # as shown to the user (relative to the working directory when inside it)
    pairs: tuple[DeclaredPair, ...] = ()
    error: Optional[str] = None
    error_line: int = 0
    #: The module may define pairs its source does not show as `name = Pair(...)` (a helper
    #: function, a loop, `globals()`, a call at import): only importing it lists them all.
    hidden: bool = False


def find_modules(paths: Sequence[str]) -> list[str]:
    """Every equiv_*.py under `paths`, sorted, skipping hidden folders and environments."""
    found: list[str] = []
    for path in paths:
        if not os.path.exists(path):
            raise UsageError(f"path not found: {path}")
        if os.path.isfile(path):
            if not path.endswith(".py"):
                raise UsageError(f"not a Python file: {path}")
            found.append(os.path.abspath(path))
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not skipped_dir(os.path.join(root, d)))
            found.extend(os.path.abspath(os.path.join(root, f))
                         for f in sorted(files) if fnmatch.fnmatchcase(f, PATTERN))
    return sorted(dict.fromkeys(found))


def skipped_dir(path: str) -> bool:
    name = os.path.basename(path)
    return (name.startswith(".") or name in SKIP_DIRS
            or os.path.exists(os.path.join(path, "pyvenv.cfg")))


def display_path(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def read_module(path: str) -> Module:
    """Parse a module and list its `Pair(...)` assignments; a syntax error becomes `Module.error`."""
    display = display_path(path)
    try:
        with open(path, "rb") as f:
            source = f.read()
        with AST_LOCK:
            tree = ast.parse(source, filename=path)
    except SyntaxError as e:
        where = f"line {e.lineno}" + (f", column {e.offset}" if e.offset else "")
        return Module(path, display, error=f"SyntaxError: {e.msg} ({display}, {where})",
                      error_line=e.lineno or 0)
    except (OSError, ValueError) as e:
        return Module(path, display, error=f"cannot read {display}: {e}")
    pairs = tuple(_pairs(tree))
    return Module(path, display, pairs=pairs, hidden=_may_hide_pairs(tree))


def _pairs(tree: ast.Module) -> Iterator[DeclaredPair]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not (isinstance(target, ast.Name) and isinstance(value, ast.Call) and _is_pair(value.func)):
            continue
        literals: dict[str, Any] = {}
        for kw in value.keywords:
            if kw.arg is None:
                continue
            try:
                literals[kw.arg] = ast.literal_eval(kw.value)
            except (ValueError, SyntaxError, TypeError):
                pass
        names = frozenset(kw.arg for kw in value.keywords if kw.arg)
        tf1 = next((kw.value for kw in value.keywords if kw.arg == "tf1"),
                   value.args[0] if value.args else None)
        loaded = isinstance(tf1, ast.Call) and _called(tf1.func) == "SavedModel"
        yield DeclaredPair(target.id, node.lineno, literals, names, tf1_loaded=loaded)


def _may_hide_pairs(tree: ast.Module) -> bool:
    """Whether running the module could define a pair `_pairs` does not see: a `Pair(...)` call
    anywhere but a module-level assignment, or any module-level statement that runs a call (a
    factory from another module). Only definitions, imports and call-free values are safe."""
    visible = 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef, ast.Pass)):
            continue
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)) else None
        if isinstance(node, ast.Expr) and isinstance(value, ast.Constant):
            continue                                              # a docstring
        if isinstance(value, ast.Call) and _is_pair(value.func) and not isinstance(node, ast.Expr):
            visible += 1
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and not _runs_a_call(value):
            continue
        return True
    calls = sum(isinstance(n, ast.Call) and _is_pair(n.func) for n in ast.walk(tree))
    return calls > visible


def _runs_a_call(node: Optional[ast.expr]) -> bool:
    """A call evaluated with the expression (a lambda's body runs later, not at import)."""
    if node is None or isinstance(node, ast.Lambda):
        return False
    if isinstance(node, ast.Call):
        return True
    return any(_runs_a_call(child) for child in ast.iter_child_nodes(node)
               if isinstance(child, ast.expr))


def _is_pair(func: ast.expr) -> bool:
    return _called(func) == "Pair"


def _called(func: ast.expr) -> Optional[str]:
    """The name a call calls: `Pair` for `Pair(...)` and `tf_equiv.Pair(...)`."""
    return func.id if isinstance(func, ast.Name) else \
        func.attr if isinstance(func, ast.Attribute) else None


@dataclass(frozen=True)
class PlannedPair:
    """A declared pair with the checks planned for it."""

    module: Module
    declared: DeclaredPair
    checks: tuple[tuple[str, Optional[str]], ...]  # ((check, skip reason or None), ...)
    #: What is wrong with its fields, as far as the parent knows before any worker runs (the
    #: worker reports every problem again when it imports the module).
    problems: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.module.display}::{self.declared.name}"
