"""The named compatibility fixes for tf_slim under TF 2.16+, and turning them off."""
from __future__ import annotations

import os

import pytest
from conftest import ROOT, check

pytestmark = pytest.mark.tensorflow

FIXTURE = os.path.join(ROOT, "tests", "fixtures_compat")


def test_slim_batch_norm_passes_with_the_fixes(tmp_path):
    run = check(tmp_path, ".", cwd=FIXTURE)
    assert run.returncode == 0, run.stdout[-2000:]
    assert ("compat fixes applied: graph_build_fast_path, legacy_tf_layers_alias, "
            "tf_slim_collection_identity") in run.stdout
    suite = next(iter(run.xml))
    props = {p.name: p.value for p in suite.properties()}
    assert props["compat_fixes"] == \
        "legacy_tf_layers_alias,tf_slim_collection_identity,graph_build_fast_path"


def test_without_the_fixes_the_error_names_the_missing_module(tmp_path):
    run = check(tmp_path, ".", "--no-compat-fixes", cwd=FIXTURE)
    assert run.returncode == 1
    case = run.case("equiv_slim_batch_norm.py::batch_norm::transferred_inference")
    assert case.verdict == "error"
    assert "No module named 'tf_keras.legacy_tf_layers'" in case.message


SAME_ANSWER = r"""
import os
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tensorflow as tf
from tensorflow.python.framework import ops
original = ops.executing_eagerly_outside_functions
from tf_equiv.worker import compat
assert "graph_build_fast_path" in compat.apply(True)
fast = ops.executing_eagerly_outside_functions
assert fast is not original
answers = []
def both(where):
    answers.append((where, original(), fast()))
both("eager")
g = tf.Graph()
with g.as_default():
    both("graph")
    with tf.init_scope():
        both("init_scope in graph")
    @tf.function
    def f():
        both("function in graph")
        return 1
    f.get_concrete_function()
@tf.function
def h():
    both("function in eager")
    return 1
h.get_concrete_function()
for where, a, b in answers:
    assert a == b, (where, a, b)
print(answers)
"""


def test_graph_build_fast_path_gives_the_same_answer_everywhere():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", SAME_ANSWER], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "('graph', False, False)" in out.stdout and "('eager', True, True)" in out.stdout
    assert "('function in eager', True, True)" in out.stdout
