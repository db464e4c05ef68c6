"""No import cycle in the package, the imports inside functions included: Python and import-linter
see a cycle closed by a lazy import only when it breaks at run time. The graph is read from the
syntax trees (nothing is imported, so no TensorFlow)."""
from __future__ import annotations

import ast
import os
from typing import Iterator

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "checker")
PACKAGE = "tf_equiv"
#: Edges allowed to close a cycle, each with its reason. None today.
ALLOWED: frozenset[tuple[str, str]] = frozenset()


def modules() -> dict[str, str]:
    """{dotted module name: path} of every module under checker/tf_equiv."""
    found = {}
    for folder, _, files in os.walk(os.path.join(ROOT, PACKAGE)):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts.pop()
                found[".".join(parts)] = path
    return found


def imported(module: str, path: str, known: set[str]) -> Iterator[str]:
    """The package's modules `module` imports anywhere in its file (in functions too)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from a import b` imports a, and a.b when b is a module.
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            # `import a.b.c` runs a, a.b and a.b.c; a package's own __init__ is not a cycle.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(f"{name}."):
                yield name


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {m: set(imported(m, path, known)) - {m} for m, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component that has one (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycle_even_through_lazy_imports():
    edges = {m: {n for n in targets if (m, n) not in ALLOWED} for m, targets in graph().items()}
    assert cycles(edges) == []


def test_the_graph_sees_imports_inside_functions():
    edges = graph()
    # The console script imports the command only once the signal handlers are set.
    assert "tf_equiv.cli" in edges["tf_equiv.__main__"]
    assert "tf_equiv.stopping" in edges["tf_equiv.cli"]
    # A lazy cycle is found like any other.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
