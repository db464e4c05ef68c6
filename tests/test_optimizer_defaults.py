"""optimizer_steps names the TF1 and Keras optimizer defaults a migration easily misses, in the
failing check's hint (message, terminal and JUnit), from the optimizers the sides built."""
from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET

import pytest
from conftest import FIXTURES, check

pytestmark = pytest.mark.tensorflow

MODULE = '''
import tensorflow as tf
import tf_equiv
from _models import inputs, mlp, shim


def pair(tf1_optimizer, tf2_optimizer):
    return tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=inputs, checks=["optimizer_steps"],
                         optimizers=(tf1_optimizer, tf2_optimizer))


rmsprop_defaults = pair(lambda: tf.compat.v1.train.RMSPropOptimizer(0.01),
                        lambda: tf.keras.optimizers.RMSprop(0.01))
adagrad_accumulator = pair(lambda: tf.compat.v1.train.AdagradOptimizer(0.1),
                           lambda: tf.keras.optimizers.Adagrad(0.1, initial_accumulator_value=0.01))
momentum_decay = pair(
    lambda: tf.compat.v1.train.MomentumOptimizer(tf.compat.v1.train.exponential_decay(
        0.1, tf.compat.v1.train.get_or_create_global_step(), decay_steps=1, decay_rate=0.5),
        momentum=0.9),
    lambda: tf.keras.optimizers.SGD(tf.keras.optimizers.schedules.ExponentialDecay(
        0.1, decay_steps=1, decay_rate=0.5), momentum=0.9))
adam_rate_and_epsilon = pair(lambda: tf.compat.v1.train.AdamOptimizer(0.01),
                             lambda: tf.keras.optimizers.Adam(0.02))
'''

HINTS = {
    "rmsprop_defaults": (
        "Hint: the optimizers differ: TF1's RMSPropOptimizer starts its mean square (slot rms) at "
        "1, Keras's RMSprop its velocity at 0, which no argument changes (assign 1 to the "
        "velocity slots after optimizer.build(variables)): the first steps differ most; epsilon "
        "1e-10 in TF1's RMSPropOptimizer, 1e-07 in Keras's RMSprop (epsilon=1e-10 matches)"),
    "adagrad_accumulator": (
        "Hint: the optimizers differ: TF1's AdagradOptimizer starts its accumulator at 0.1, "
        "Keras's Adagrad at 0.01 (initial_accumulator_value=0.1 matches); TF1's AdagradOptimizer "
        "divides by sqrt(accumulator) with no epsilon, Keras's Adagrad by sqrt(accumulator + "
        "epsilon) with epsilon=1e-07 (epsilon=0.0 matches)"),
    "momentum_decay": (
        "Hint: the optimizers differ: TF1's MomentumOptimizer multiplies its whole accumulator by "
        "the current learning rate, Keras's SGD (momentum) keeps each step's rate in its "
        "velocity: with a learning rate that changes (a schedule) the steps differ from the "
        "second on, with a constant one they agree"),
    "adam_rate_and_epsilon": (
        "Hint: the optimizers differ: epsilon 1e-08 in TF1's AdamOptimizer, 1e-07 in Keras's Adam "
        "(epsilon=1e-08 matches); learning rate 0.01 in TF1's AdamOptimizer, 0.02 in Keras's "
        "Adam"),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("defaults")
    shutil.copy(os.path.join(FIXTURES, "_models.py"), folder)
    (folder / "equiv_defaults.py").write_text(MODULE)
    return check(folder, ".", cwd=str(folder)), folder


@pytest.mark.parametrize("pair", sorted(HINTS))
def test_failing_optimizer_steps_name_the_defaults_that_differ(run, pair):
    result, folder = run
    case = result.case(f"equiv_defaults.py::{pair}::optimizer_steps")
    assert case.verdict == "failed", case.message
    assert case.message.startswith("optimizer_steps: first divergence in forward order: "
                                   "optimizer_steps/")
    assert case.message.endswith(HINTS[pair]), case.message
    assert HINTS[pair] in result.stdout
    properties = {p.get("name"): p.get("value")
                  for p in ET.parse(folder / "report.xml").iter("property")}
    assert json.loads(properties[f"hint.{pair}::optimizer_steps"]) == HINTS[pair][len("Hint: "):]


def test_momentum_with_a_decaying_rate_parts_at_the_second_step(run):
    # With the same rate the first update is the same on both sides (lr * g either way).
    message = run[0].case("equiv_defaults.py::momentum_decay::optimizer_steps").message
    assert "first divergence in forward order: optimizer_steps/2/" in message
