"""optimizer_steps: the same steps from the same weights, variables and slots compared by name."""
from __future__ import annotations

import os
import shutil

from conftest import FIXTURES, check

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
