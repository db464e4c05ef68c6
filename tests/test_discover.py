"""Discovery: a glob, no imports; declarations read from the syntax tree."""
from __future__ import annotations

import os

from tf_equiv.plan.discover import find_modules, read_module


def test_skips_hidden_folders_and_environments(tmp_path):
    for rel in ["a/equiv_one.py", ".hidden/equiv_no.py", "venv/equiv_no.py", "venv/pyvenv.cfg",
                "x/site-packages/equiv_no.py", "node_modules/equiv_no.py", "b/not_equiv.py",
                "b/equiv_two.py"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    found = [os.path.relpath(p, tmp_path) for p in find_modules([str(tmp_path)])]
    assert found == ["a/equiv_one.py", "b/equiv_two.py"]


def test_reads_pairs_and_literal_fields(tmp_path):
    path = tmp_path / "equiv_x.py"
    path.write_text("import tf_equiv\nfrom tf_equiv import Pair\n"
                    "a = tf_equiv.Pair(tf1=f, tf2=g, inputs=h, checks=['gradients'], skip='no')\n"
                    "b: tf_equiv.Pair = Pair(f, g, h, optimizers=OPTS)\n"
                    "c = something_else()\n")
    module = read_module(str(path))
    assert [(p.name, p.line) for p in module.pairs] == [("a", 3), ("b", 4)]
    assert module.pairs[0].literals == {"checks": ["gradients"], "skip": "no"}
    assert "optimizers" in module.pairs[1].fields and "optimizers" not in module.pairs[1].literals


def test_syntax_error_is_data_not_an_exception(tmp_path):
    path = tmp_path / "equiv_bad.py"
    path.write_text("x = (\n")
    module = read_module(str(path))
    assert module.pairs == () and module.error.startswith("SyntaxError: '(' was never closed")
    assert module.error_line == 1
