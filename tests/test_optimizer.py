"""optimizer_steps: the same steps from the same weights, variables and slots compared by name."""
from __future__ import annotations

import os
import shutil

import pytest
from conftest import FIXTURES, check

pytestmark = pytest.mark.tensorflow

MODULE = '''
import tensorflow as tf
import tf_equiv
from _models import inputs, mlp, shim

momentum = tf_equiv.Pair(
    tf1=mlp, tf2=shim(mlp), inputs=inputs, checks=["optimizer_steps"], train_steps=3,
    optimizers=(lambda: tf.compat.v1.train.MomentumOptimizer(0.1, momentum=0.9),
                lambda: tf.keras.optimizers.SGD(0.1, momentum=0.9)))
wrong_rate = tf_equiv.Pair(
    tf1=mlp, tf2=shim(mlp), inputs=inputs, checks=["optimizer_steps"], train_steps=2,
    optimizers=(lambda: tf.compat.v1.train.GradientDescentOptimizer(0.1),
                lambda: tf.keras.optimizers.SGD(0.2)))
adam = tf_equiv.Pair(
    tf1=mlp, tf2=shim(mlp), inputs=inputs, checks=["optimizer_steps"], train_steps=2,
    optimizers=(lambda: tf.compat.v1.train.AdamOptimizer(0.01),
                lambda: tf.keras.optimizers.Adam(0.01, epsilon=1e-8)))
adam_beta = tf_equiv.Pair(
    tf1=mlp, tf2=shim(mlp), inputs=inputs, checks=["optimizer_steps"], train_steps=2,
    optimizers=(lambda: tf.compat.v1.train.AdamOptimizer(0.01),
                lambda: tf.keras.optimizers.Adam(0.01, beta_1=0.8, epsilon=1e-8)))
'''


def test_optimizer_steps_compare_variables_and_slots(tmp_path):
    shutil.copy(os.path.join(FIXTURES, "_models.py"), tmp_path)
    (tmp_path / "equiv_train.py").write_text(MODULE)
    run = check(tmp_path, ".", cwd=str(tmp_path))
    ok = run.case("equiv_train.py::momentum::optimizer_steps")
    assert ok.verdict == "passed", ok.message + ok.text
    assert "optimizer slots without a counterpart of the same kind were not compared (m, " \
        "momentum)" in run.stdout
    wrong = run.case("equiv_train.py::wrong_rate::optimizer_steps")
    assert wrong.verdict == "failed"
    # The first step's loss agrees (same weights); the variables after it do not.
    assert "first divergence in forward order: optimizer_steps/1/encoder/" in wrong.message
    # Adam's m and v are matched by variable name and kind on both sides.
    adam = run.case("equiv_train.py::adam::optimizer_steps")
    assert adam.verdict == "passed", adam.message + adam.text
    assert "adam::optimizer_steps: optimizer slots" not in run.stdout
    beta = run.case("equiv_train.py::adam_beta::optimizer_steps")
    # A bias-corrected first step does not depend on beta_1: the variables still agree after it,
    # and the first record that differs is the slot that does.
    assert beta.verdict == "failed"
    assert beta.message.startswith("optimizer_steps: first divergence in forward order: "
                                   "optimizer_steps/1/encoder/hidden/kernel/m: max abs diff")
