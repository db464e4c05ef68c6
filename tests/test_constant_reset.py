"""The TF1 side's constant reset (constant_inference, and localization's constant weights): every
floating-point variable at the pair's constant, cast to its dtype as TensorFlow casts it (as the
TF2 side does), whatever kind of variable TF1 code made; other variables keep their values."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.tensorflow

SCRIPT = r"""
import json, os
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np
import tensorflow as tf
from tf_equiv.worker import tf1
from tf_equiv.worker.config import Numerics

v1 = tf.compat.v1
graph = tf.Graph()
with graph.as_default():
    made = [
        v1.get_variable("f32", [3, 4], initializer=v1.truncated_normal_initializer()),
        v1.get_variable("f16", [5], tf.float16, initializer=v1.random_uniform_initializer()),
        v1.get_variable("bf16", [2, 2], tf.bfloat16, initializer=v1.ones_initializer()),
        v1.get_variable("f64", [7], tf.float64, initializer=v1.random_normal_initializer()),
        v1.get_variable("ref", [4], use_resource=False, initializer=v1.zeros_initializer()),
        v1.get_variable("steps", [], tf.int64, initializer=v1.constant_initializer(5)),
    ]
    # Its shape is known only when its initializer runs.
    made.append(v1.Variable(v1.placeholder_with_default(np.ones((2, 3), np.float32), None),
                            validate_shape=False, name="unknown_shape"))
    # Its initial value is computed from another variable's.
    made.append(v1.Variable(made[0].initial_value * 2.0, name="derived"))
    with tf1.new_session(graph, Numerics()) as sess:
        sess.run(v1.global_variables_initializer())
        tf1.set_constant(sess, made, 0.1)
        values = sess.run(made)
        expected = {d.name: np.asarray(sess.run(tf.cast(0.1, d))).item()
                    for d in (tf.float32, tf.float16, tf.bfloat16, tf.float64)}
print(json.dumps({"values": {v.op.name: np.asarray(x, np.float64).ravel().tolist()
                             for v, x in zip(made, values)},
                  "shapes": {v.op.name: list(np.shape(x)) for v, x in zip(made, values)},
                  "dtypes": {v.op.name: v.dtype.base_dtype.name for v in made},
                  "expected": expected}))
"""


def test_every_float_variable_gets_the_constant_cast_to_its_dtype(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "checker"),
                                                       os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=600, env=env, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    expected, dtypes = found["expected"], found["dtypes"]
    # 0.1 is not exact in any of them: each holds its own rounding of it (tf.cast takes the Python
    # float as a float32 first, float64 too: the TF2 side casts it the same way).
    assert len({expected[d] for d in ("float32", "float16", "bfloat16")}) == 3, expected
    for name, values in found["values"].items():
        if name == "steps":
            assert values == [5.0]
            continue
        assert set(values) == {expected[dtypes[name]]}, (name, values)
    assert found["shapes"]["unknown_shape"] == [2, 3]
    assert found["shapes"]["f32"] == [3, 4] and found["shapes"]["derived"] == [3, 4]
