"""tf_equiv.SavedModel: a TF1 SavedModel as the TF1 side. The SavedModels are exported here, into
the test's folder, from the examples' TF1 code (tests/export_saved_model.py), under TensorFlow 2.21
and, with TF_EQUIV_CROSS_VERSION=1, under 2.15; the examples' TF2 code is the TF2 side."""
from __future__ import annotations

import glob
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT, check, tf_equiv
from test_modelfn import LEGACY_PYTHON, cross_version

EXPORT = os.path.join(ROOT, "tests", "export_saved_model.py")
LOADED = ("tf1 is a SavedModel: its variables hold trained values, and this check compares the "
          "random initial values the TF1 code draws when it builds the graph")
RANDOM = ("random_inference[num_random_ops]", "random_inference[constant]",
          "random_training[num_random_ops]", "random_training[constant]",
          "functional_training[constant]")
APPLIES = ("variables_created_once", "variables_match", "constant_inference",
           "transferred_inference", "gradients", "optimizer_steps", "tf_function")

MLP_MODULE = f'''
import sys
sys.path.insert(0, {EXAMPLES!r})
import numpy as np
import tensorflow as tf

import tf_equiv
from equiv_mlp import loss, tf1_forward, tf1_optimizer, tf2_optimizer


class Served(tf.keras.layers.Layer):
    """The example's TF2 side, called with the signature's inputs dict."""

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs, training=None):
        return tf1_forward(inputs["features"], bool(training))


class TanhHidden(tf.keras.layers.Layer):
    """A migration that changed the second hidden layer's activation."""

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs, training=None):
        init = tf.compat.v1.glorot_uniform_initializer()
        l2 = tf.compat.v1.keras.regularizers.l2(1e-3)
        dense = tf.compat.v1.layers.dense
        with tf.compat.v1.variable_scope("classifier"):
            net = dense(inputs["features"], 32, tf.nn.relu, name="hidden1",
                        kernel_initializer=init, kernel_regularizer=l2)
            net = dense(net, 16, tf.nn.tanh, name="hidden2", kernel_initializer=init,
                        kernel_regularizer=l2)
            logits = dense(net, 10, name="logits", kernel_initializer=init, kernel_regularizer=l2)
        return {{"logits": logits, "probabilities": tf.nn.softmax(logits)}}


def features():
    return {{"features": np.random.default_rng(0).normal(size=(4, 20)).astype(np.float32)}}


served = tf_equiv.Pair(tf1=tf_equiv.SavedModel("mlp_saved"), tf2=Served, inputs=features,
                       loss=loss, optimizers=(tf1_optimizer, tf2_optimizer))
tanh_hidden = tf_equiv.Pair(tf1=tf_equiv.SavedModel("mlp_saved"), tf2=TanhHidden,
                            inputs=features, checks=["variables_match", "transferred_inference"])
missing = tf_equiv.Pair(tf1=tf_equiv.SavedModel("no_such_model"), tf2=Served, inputs=features,
                        checks=["variables_match"])
wrong_signature = tf_equiv.Pair(tf1=tf_equiv.SavedModel("mlp_saved", signature="predict"),
                                tf2=Served, inputs=features, checks=["variables_match"])
wrong_inputs = tf_equiv.Pair(tf1=tf_equiv.SavedModel("mlp_saved"), tf2=Served,
                             inputs={{"x": np.zeros((4, 20), np.float32)}},
                             checks=["constant_inference"])
wrong_dtype = tf_equiv.Pair(tf1=tf_equiv.SavedModel("mlp_saved"), tf2=Served,
                            inputs={{"features": np.zeros((4, 20))}}, checks=["gradients"])
'''


def export(python: str, model: str, out: str) -> None:
    # The export borrows the checker's compatibility fixes: a legacy interpreter has no tf_equiv.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": os.path.join(ROOT, "checker")}
    done = subprocess.run([python, EXPORT, model, out], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def mlp_folder(folder, python: str = sys.executable) -> str:
    export(python, "mlp", str(folder / "mlp_saved"))
    (folder / "equiv_saved.py").write_text(MLP_MODULE)
    return str(folder / "equiv_saved.py")


@pytest.fixture(scope="module")
def mlp_module(tmp_path_factory):
    pytest.importorskip("tensorflow")
    return mlp_folder(tmp_path_factory.mktemp("saved"))


def assert_served_passes(run, module: str) -> None:
    verdicts = run.verdicts(f"{module}::served")
    assert verdicts == {**{c: "passed" for c in APPLIES}, **{c: "skipped" for c in RANDOM}}, \
        run.stdout[-3000:]
    for check_id in RANDOM:
        assert run.case(f"{module}::served::{check_id}").message.startswith(LOADED)


@pytest.mark.tensorflow
def test_a_saved_model_of_the_mlp_example_passes_and_broken_sides_fail_where_they_differ(
        tmp_path, mlp_module):
    run = check(tmp_path, mlp_module)
    module = mlp_module
    assert run.returncode == 1, run.stdout[-3000:]
    assert_served_passes(run, module)
    assert run.case(f"{module}::tanh_hidden::variables_match").verdict == "passed"
    differs = run.case(f"{module}::tanh_hidden::transferred_inference")
    assert differs.verdict == "failed"
    assert differs.message.startswith("transferred_inference: first divergence in forward order: "
                                      "outputs/logits: "), differs.message
    folder = os.path.dirname(module)
    missing = run.case(f"{module}::missing::variables_match")
    assert missing.verdict == "error"
    assert missing.message == (f"variables_match: TF1 side: tf1.path: {folder}/no_such_model: "
                               "no such folder; 'no_such_model' is taken from the folder of "
                               "equiv_saved.py")
    signature = run.case(f"{module}::wrong_signature::variables_match")
    assert signature.verdict == "error"
    assert signature.message == (f"variables_match: TF1 side: tf1.signature: the SavedModel "
                                 f"{folder}/mlp_saved has no signature 'predict' (it has: "
                                 "serving_default)")
    inputs = run.case(f"{module}::wrong_inputs::constant_inference")
    assert inputs.verdict == "error"
    assert inputs.message.startswith("constant_inference: TF1 side: inputs: the signature "
                                     "'serving_default' takes features; missing features; not "
                                     "inputs of the signature: x")
    dtype = run.case(f"{module}::wrong_dtype::gradients")
    assert dtype.verdict == "error"
    assert dtype.message.startswith("gradients: TF1 side: inputs: 'features' is float64 (4, 20), "
                                    "where the signature 'serving_default' takes float32 "
                                    "(None, 20)"), dtype.message


@pytest.mark.tensorflow
def test_the_tf1_side_runs_at_the_saved_models_trained_values(tmp_path, mlp_module):
    """The exporter moved every variable off its initializer's values: the TF1 records are the
    SavedModel's own outputs, as the exporting session computed them."""
    store = str(tmp_path / "records")
    recorded = tf_equiv("record", mlp_module, "--side", "tf1", "--out", store, "--select",
                        "*::served::transferred_inference")
    assert recorded.returncode == 0, recorded.stdout[-3000:] + recorded.stderr[-3000:]
    files = glob.glob(os.path.join(store, "*", "tf1-transferred_inference.npz"))
    assert len(files) == 1, os.listdir(store)
    expected = np.load(os.path.join(os.path.dirname(mlp_module), "mlp_saved", "expected.npz"))
    with np.load(files[0]) as records:
        np.testing.assert_allclose(records["outputs/logits"], expected["logits"], rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.tensorflow
def test_a_failing_saved_model_pair_is_localized_in_the_loaded_graph(tmp_path, mlp_module):
    run = check(tmp_path, mlp_module, "--select", "*::tanh_hidden::transferred_inference",
                explain=True)
    case = run.case(f"{mlp_module}::tanh_hidden::transferred_inference")
    assert case.verdict == "failed"
    assert "Localization: first divergent op in topological order: classifier/logits/MatMul " \
           "(MatMul)" in case.message, case.message
    assert "in TF2 it reads ops TF1 lacks: classifier/hidden2/Tanh" in case.message


@pytest.mark.tensorflow
def test_a_saved_model_of_the_inception_example_passes_every_check_that_applies(tmp_path):
    pytest.importorskip("tensorflow")
    export(sys.executable, "inception", str(tmp_path / "inception_saved"))
    (tmp_path / "equiv_inception_saved.py").write_text(f'''
import sys
sys.path.insert(0, {EXAMPLES!r})
import numpy as np
import tensorflow as tf

import tf_equiv
from equiv_inception_v3 import tf1_forward

ENDPOINTS = ("Mixed_5b", "Mixed_6a", "Mixed_7c", "Predictions")


class Served(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs, training=None):
        logits, end_points = tf1_forward(inputs["images"], bool(training))
        return {{"logits": logits, **{{k: end_points[k] for k in ENDPOINTS}}}}


inception = tf_equiv.Pair(
    tf1=tf_equiv.SavedModel("inception_saved"),
    tf2=Served,
    inputs=lambda: {{"images": np.random.default_rng(0).uniform(-1, 1, (1, 107, 107, 3))
                    .astype(np.float32)}},
    # As the example: a constant reset overflows in inception_v3, so it is left out.
    checks=["variables_*", "transferred_inference", "random_*", "gradients", "tf_function"],
    loss=lambda outputs: tf.reduce_mean(outputs["logits"]),
    tolerances={{"gradients/*": (1e-3, 1e-5)}},
)
''')
    module = str(tmp_path / "equiv_inception_saved.py")
    run = check(tmp_path, module)
    assert run.returncode == 0, run.stdout[-3000:]
    verdicts = run.verdicts(f"{module}::inception")
    assert verdicts == {"variables_created_once": "passed", "variables_match": "passed",
                        "transferred_inference": "passed", "gradients": "passed",
                        "tf_function": "passed", **{c: "skipped" for c in RANDOM[:4]}}


@cross_version[0]
@cross_version[1]
def test_a_saved_model_exported_and_loaded_under_2_15_passes_against_tf2(tmp_path):
    assert os.path.exists(LEGACY_PYTHON), "run .ci/setup-legacy first"
    module = mlp_folder(tmp_path, LEGACY_PYTHON)
    run = check(tmp_path, module, "--tf1-python", LEGACY_PYTHON, "--select", "*::served::*",
                env={"TF_EQUIV_TF1_PYTHON": ""})
    assert run.returncode == 0, run.stdout[-3000:]
    assert_served_passes(run, module)


FROZEN_MODULE = '''
import os
import numpy as np
import tensorflow as tf

import tf_equiv

FROZEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mlp_frozen", "frozen.pb")


def tf1_frozen(features, training):
    """The TF1 model as it was shipped: a GraphDef with its weights as constants."""
    graph_def = tf.compat.v1.GraphDef()
    with open(FROZEN, "rb") as f:
        graph_def.ParseFromString(f.read())
    logits, probabilities = tf.compat.v1.import_graph_def(
        graph_def, input_map={"features:0": features}, name="frozen",
        return_elements=["logits_out:0", "probabilities_out:0"])
    return {"logits": logits, "probabilities": probabilities}


class Plain(tf.keras.layers.Layer):
    """The example's forward pass without its regularizers (a GraphDef keeps none)."""

    activation = staticmethod(tf.nn.relu)

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, features, training=None):
        dense = tf.compat.v1.layers.dense
        with tf.compat.v1.variable_scope("classifier"):
            net = dense(features, 32, tf.nn.relu, name="hidden1")
            net = dense(net, 16, self.activation, name="hidden2")
            logits = dense(net, 10, name="logits")
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}


class TanhHidden(Plain):
    activation = staticmethod(tf.nn.tanh)


def features():
    return np.random.default_rng(0).normal(size=(4, 20)).astype(np.float32)


frozen = tf_equiv.Pair(tf1=tf1_frozen, tf2=Plain, inputs=features,
                       checkpoint="mlp_frozen/model.ckpt", checks=["checkpoint_inference"])
tanh_hidden = tf_equiv.Pair(tf1=tf1_frozen, tf2=TanhHidden, inputs=features,
                            checkpoint="mlp_frozen/model.ckpt", checks=["checkpoint_inference"])
'''


@pytest.mark.tensorflow
def test_a_frozen_graphdef_is_compared_with_the_checkpoint_it_was_frozen_from(tmp_path):
    pytest.importorskip("tensorflow")
    export(sys.executable, "frozen", str(tmp_path / "mlp_frozen"))
    (tmp_path / "equiv_frozen.py").write_text(FROZEN_MODULE)
    module = str(tmp_path / "equiv_frozen.py")
    run = check(tmp_path, module)
    assert run.case(f"{module}::frozen::checkpoint_inference").verdict == "passed", \
        run.stdout[-3000:]
    differs = run.case(f"{module}::tanh_hidden::checkpoint_inference")
    assert differs.verdict == "failed", run.stdout[-3000:]
    assert differs.message.startswith("checkpoint_inference: first divergence in forward "
                                      "order: outputs/logits: "), differs.message
