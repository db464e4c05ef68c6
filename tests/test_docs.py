"""docs/architecture.md held to the code: every module of the package has its row in the module
table, and every protocol type (each event a worker sends, each request it is sent) is in the
protocol section. No TensorFlow here."""
from __future__ import annotations

import os
import re

from tf_equiv.run import protocol

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PACKAGE = os.path.join(ROOT, "checker", "tf_equiv")


def _section(title: str) -> str:
    with open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def documented_modules() -> set[str]:
    """Module paths relative to checker/tf_equiv named in the module tables: a row's module cell
    (its package the table's heading or the row's package cell, kept for the rows below it)."""
    found: set[str] = set()
    heading, package = "", ""
    for line in _section("Modules").splitlines():
        if line.startswith("### "):
            heading = line[4:].strip().strip("`").removeprefix("checker/tf_equiv/")
            package = ""
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("module", "package"):
            continue
        if len(cells) == 3:                 # | package | module | responsibility |
            package = cells[0].strip("`") or package
            names = cells[1]
        else:
            package, names = heading, cells[0]
        found |= {f"{package}{name}" for name in re.findall(r"`([\w.]+\.py)`", names)}
    return found


def package_modules() -> set[str]:
    """Every module under checker/tf_equiv (a subpackage's __init__.py only says what it is)."""
    found = set()
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            path = os.path.relpath(os.path.join(folder, name), PACKAGE).replace(os.sep, "/")
            if name.endswith(".py") and not (name == "__init__.py" and "/" in path):
                found.add(path)
    return found


def test_every_module_has_its_row_in_the_module_table():
    documented = documented_modules()
    assert package_modules() - documented == set(), "modules docs/architecture.md leaves out"
    assert documented - package_modules() == set(), "rows for modules that do not exist"


def test_every_protocol_type_is_in_the_protocol_section():
    section = _section("The worker protocol")
    rows = set(re.findall(r"^\| `(\w+)` \|", section, re.M))
    assert set(protocol.KINDS) - rows == set(), "events the protocol table leaves out"
    if os.path.isdir(os.path.join(PACKAGE, "protocol")):
        from tf_equiv.protocol import requests

        named = set(re.findall(r"`(\w+)`", section))
        missing = {cls.__name__ for cls in requests.REQUESTS.values()} - named
        assert missing == set(), "request types the protocol section leaves out"
