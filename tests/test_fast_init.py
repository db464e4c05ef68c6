"""`tf-equiv init` without TensorFlow: SOURCE, --inputs and --out refused before anything runs
(exit 2, the file untouched), and the modules it renders read by `tf-equiv list`."""
from __future__ import annotations

import os

import pytest
from conftest import ROOT, tf_equiv

from tf_equiv.protocol import introspection
from tf_equiv.protocol.introspection import Introspection
from tf_equiv.protocol.requests import (
    InputSpec,
    IntrospectRequest,
    RequestError,
    decode,
    encode,
    parsed,
    tagged,
)
from tf_equiv.scaffold import render

FIXTURES = os.path.join(ROOT, "tests", "fixtures_init")


def _init(*args: str, cwd: str = ROOT):
    return tf_equiv("init", *args, cwd=cwd, timeout=60)


@pytest.mark.parametrize("source, words", [
    ("tests/fixtures_init/missing.py:build", "SOURCE tests/fixtures_init/missing.py:build: no such "
                                             "file tests/fixtures_init/missing.py"),
    ("tests/fixtures_init", "SOURCE tests/fixtures_init: a folder without saved_model.pb is not "
                            "a SavedModel; expected path/to/model.py:function, "
                            "package.module:function or a SavedModel folder"),
    ("tests/fixtures_init/builder.py", "SOURCE tests/fixtures_init/builder.py: no such folder, "
                                       "and no ':function' to take from a file or module"),
    ("tests/fixtures_init/builder.py:2build", "SOURCE tests/fixtures_init/builder.py:2build: "
                                              "'2build' is not a function name"),
    ("nets/mlp:forward", "SOURCE nets/mlp:forward: 'nets/mlp' is neither a .py file nor a "
                         "module name"),
])
def test_a_bad_source_is_refused_naming_what_is_wrong(source, words):
    proc = _init(source)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"tf-equiv: error: {words}"), proc.stderr


@pytest.mark.parametrize("value, words", [
    ("images:1x2:float32", "--inputs images:1x2:float32: expected NAME=SHAPE:DTYPE, such as "
                           "images=1x299x299x3:float32"),
    ("images=1x0:float32", "--inputs images=1x0:float32: the shape '1x0' is not positive sizes"),
    ("images=1x2:float", "--inputs images=1x2:float: unknown dtype 'float'; known: float16, "),
])
def test_bad_inputs_are_refused(value, words):
    proc = _init("tests/fixtures_init/builder.py:build", "--inputs", value)
    assert proc.returncode == 2 and proc.stderr.startswith(f"tf-equiv: error: {words}"), \
        proc.stderr


def test_init_never_overwrites_a_file(tmp_path):
    (tmp_path / "model.py").write_text("def build(x, training):\n    return x\n")
    mine = tmp_path / "equiv_model.py"
    mine.write_text("# the user's own module\n")
    proc = _init("model.py:build", "--inputs", "x=2x3:float32", cwd=str(tmp_path))
    assert proc.returncode == 2
    assert f"{mine}: exists; tf-equiv init never overwrites a file: remove it, or write " \
           "elsewhere with --out FILE" in proc.stderr
    other = tmp_path / "equiv_other.py"
    other.write_text("# another\n")
    proc = _init("model.py:build", "--out", str(other), cwd=str(tmp_path))
    assert proc.returncode == 2
    assert f"--out {other}: exists; tf-equiv init never overwrites a file" in proc.stderr
    assert mine.read_text() == "# the user's own module\n" and other.read_text() == "# another\n"


@pytest.mark.parametrize("out, words", [
    ("nowhere/equiv_x.py", "--out nowhere/equiv_x.py: no folder "),
    ("model_check.py", "--out model_check.py: `tf-equiv check` finds modules named equiv_*.py; "
                       "name it equiv_model_check.py"),
    (".", "--out .: is a folder; give the module's file, such as ./equiv_model.py"),
])
def test_a_bad_out_is_refused(tmp_path, out, words):
    (tmp_path / "model.py").write_text("def build(x, training):\n    return x\n")
    proc = _init("model.py:build", "--out", out, cwd=str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.startswith(f"tf-equiv: error: {words}"), \
        proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["model.py"]


def test_the_introspection_request_and_result_are_strict():
    request = IntrospectRequest("m.py:build", "/out.json", (InputSpec("x", (1, 2), "float32"),))
    assert decode(encode(request)) == request
    found = Introspection("function", "build", inputs=(InputSpec("x", (1, 2), "float32"),))
    text = introspection.write_text(found)
    kinds = {"introspection": Introspection}
    assert tagged(parsed(text, "x"), kinds, "introspection") == found
    data = parsed(text, "x")
    assert isinstance(data, dict)
    with pytest.raises(RequestError, match="introspection with unknown fields: extra"):
        tagged({**data, "extra": 1}, kinds, "introspection")


FOUND = {
    "function": Introspection("function", "forward", "model", FIXTURES, parameters=("x",),
                              training="training", inputs=(InputSpec("x", (2, 3), "float32"),)),
    "unknown": Introspection("function", "forward", "model", FIXTURES, parameters=("x",),
                             unknown="forward takes tensors (x) whose shapes its code does not "
                                     "say; pass --inputs x=SHAPE:DTYPE"),
    "model_fn": Introspection("model_fn", "model_fn", "model", FIXTURES,
                              arguments=("features", "labels", "mode", "params"),
                              inputs=(InputSpec("features", (4, 2), "float32"),),
                              labels=(InputSpec("labels", (4, 1), "float32"),)),
    "saved_model": Introspection("saved_model", "1", file=os.path.join(FIXTURES, "export", "1"),
                                 inputs=(InputSpec("ids", (1,), "int64"),),
                                 outputs=("logits",)),
}


@pytest.mark.parametrize("kind", sorted(FOUND))
def test_a_rendered_module_is_python_that_list_reads(tmp_path, kind):
    found = FOUND[kind]
    out = str(tmp_path / "equiv_scaffold.py")
    if kind == "saved_model":
        text = render.saved_model_module(found, "export/1", out, "serving_default", ("serve",))
    elif kind == "model_fn":
        text = render.model_fn_module(found, "model.py:model_fn", out)
    else:
        text = render.function_module(found, "model.py:forward", out)
    compile(text, out, "exec")
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    proc = tf_equiv("list", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    name = "export" if kind == "saved_model" else "model"
    assert f"{out}::{name}::variables_match" in proc.stdout.splitlines()
    if kind == "unknown":
        assert "TO FILL IN" in text and 'raise NotImplementedError(\n        "inputs: fill in ' \
            "inputs() in equiv_scaffold.py (tf-equiv init could not know the shapes)" in text
    if kind == "saved_model":
        assert "tf1=tf_equiv.SavedModel(SAVED_MODEL, signature='serving_default', " \
               "tags=('serve',))" in text
        assert 'skip="tf2 is a stub: write tf2_model() in equiv_scaffold.py, then remove this ' \
               'skip"' in text
