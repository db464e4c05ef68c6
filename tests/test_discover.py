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


def test_a_module_that_may_define_pairs_its_source_hides_is_marked(tmp_path):
    """Only importing such a module lists its pairs: a Pair made in a helper, a loop, a factory
    call at import. Definitions, imports and call-free values are safe to read."""
    cases = {
        "plain": ("import tf_equiv\nimport numpy as np\n\n"
                  "def f(x, t):\n    return x\n\nclass M:\n    pass\n\nSHAPE = (1, 2)\n"
                  "inputs = lambda: np.ones(SHAPE)\n"
                  "a = tf_equiv.Pair(tf1=f, tf2=M, inputs=inputs, checks=['gradients'])\n", False),
        "helper": ("import tf_equiv\n\ndef P(**kw):\n    return tf_equiv.Pair(tf1=f, tf2=g, "
                   "inputs=h, **kw)\n\ngood = tf_equiv.Pair(tf1=f, tf2=g, inputs=h)\n"
                   "bad = P(rtol='tight')\n", True),
        "loop": ("import tf_equiv\nfor n in 'ab':\n    globals()[n] = tf_equiv.Pair(f, g, h)\n", True),
        "factory": ("from _pairs import make\nimport tf_equiv\n"
                    "a = tf_equiv.Pair(tf1=f, tf2=g, inputs=h)\nb = make()\n", True),
    }
    for name, (source, hidden) in cases.items():
        path = tmp_path / f"equiv_{name}.py"
        path.write_text(source)
        assert read_module(str(path)).hidden is hidden, name
