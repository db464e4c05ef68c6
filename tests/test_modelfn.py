"""tf_equiv.ModelFn: an Estimator model_fn as the TF1 side. Its validation runs without
TensorFlow; the model_fn runs only under TensorFlow <= 2.15 (tf.estimator), recorded with
.venv-tf2.15 and checked against under the current TensorFlow."""
from __future__ import annotations

import os
import subprocess

import pytest
from conftest import ROOT, check, tf_equiv

import tf_equiv as api

LEGACY_PYTHON = os.path.join(ROOT, ".venv-tf2.15", "bin", "python")
cross_version = [
    pytest.mark.skipif(os.environ.get("TF_EQUIV_CROSS_VERSION") != "1",
                       reason="set TF_EQUIV_CROSS_VERSION=1 (and run .ci/setup-legacy) to record "
                              "with TensorFlow 2.15.1 and tensorflow-estimator"),
    pytest.mark.tensorflow]


def model_fn(features, labels, mode, params):
    raise AssertionError("never called here")


def test_a_model_fn_pair_takes_no_tf1_optimizer_and_needs_labels_and_a_loss():
    good = api.Pair(tf1=api.ModelFn(model_fn, labels=[[1.0]]), tf2=object, inputs=[[1.0]],
                    loss=lambda labels, outputs: outputs, optimizers=(None, object))
    assert good.problems == ()
    bad = api.Pair(tf1=api.ModelFn(model_fn), tf2=object, inputs=[[1.0]],
                   optimizers=(lambda: None, object))
    assert bad.problems[:2] == (
        "tf1.labels: expected arrays shaped like the batch, or a function returning them, got None",
        "loss: a ModelFn pair needs loss=(labels, outputs) -> scalar, the TF2 side of the "
        "model_fn's spec.loss (for example tf.keras.losses.MeanSquaredError())")
    assert bad.problems[2].startswith(
        "optimizers: expected (None, tf2_factory) with tf1=ModelFn (the TF1 step is the "
        "model_fn's spec.train_op), got (<function")
    plain = api.Pair(tf1=lambda x, t: x, tf2=object, inputs=[[1.0]], optimizers=(None, object))
    assert plain.problems == ("optimizers: expected a pair of factories (tf1_factory, "
                              "tf2_factory), got (None, <class 'object'>)",)


def _legacy_has_estimator() -> None:
    assert os.path.exists(LEGACY_PYTHON), "run .ci/setup-legacy first"
    found = subprocess.run([LEGACY_PYTHON, "-c", "import tensorflow_estimator"],
                           capture_output=True, text=True)
    assert found.returncode == 0, "run .ci/setup-legacy: tensorflow-estimator is missing"


@cross_version[0]
@cross_version[1]
def test_the_estimator_example_recorded_under_2_15_passes_against_tf2(tmp_path):
    _legacy_has_estimator()
    store = str(tmp_path / "records")
    recorded = tf_equiv("record", "examples/equiv_estimator.py", "--side", "tf1", "--out", store,
                        "--python", LEGACY_PYTHON)
    assert recorded.returncode == 0, recorded.stdout[-3000:] + recorded.stderr[-3000:]
    run = check(tmp_path, "examples/equiv_estimator.py", "--against", store)
    assert run.returncode == 0, run.stdout[-3000:]
    verdicts = {k.split("::")[-1]: c.verdict for k, c in run.cases.items()}
    assert set(verdicts.values()) == {"passed"} and len(verdicts) == 13
    for name in ("gradients", "optimizer_steps", "random_training[constant]", "training_run"):
        assert verdicts[name] == "passed"


@cross_version[0]
@cross_version[1]
def test_broken_estimator_migrations_fail_the_training_checks(tmp_path):
    _legacy_has_estimator()
    module = "tests/fixtures_modelfn/equiv_estimator_broken.py"
    store = str(tmp_path / "records")
    recorded = tf_equiv("record", module, "--side", "tf1", "--out", store,
                        "--python", LEGACY_PYTHON)
    assert recorded.returncode == 0, recorded.stdout[-3000:] + recorded.stderr[-3000:]
    run = check(tmp_path, module, "--against", store)
    assert run.returncode == 1, run.stdout[-3000:]
    summed = run.case(f"{module}::loss_summed::gradients")
    assert summed.verdict == "failed"
    assert summed.message.startswith("gradients: first divergence in forward order: "
                                     "gradients/hidden/kernel: ")
    accumulator = run.case(f"{module}::accumulator_differs::optimizer_steps")
    assert accumulator.verdict == "failed"
    assert accumulator.message.startswith("optimizer_steps: first divergence in forward order: "
                                          "optimizer_steps/1/hidden/kernel: ")
    # The optimizer inside the model_fn's train_op is named, with the defaults that differ.
    assert accumulator.message.endswith(
        "Hint: the optimizers differ: TF1's AdagradOptimizer starts its accumulator at 0.1, "
        "Keras's Adagrad at 0.01 (initial_accumulator_value=0.1 matches); TF1's AdagradOptimizer "
        "divides by sqrt(accumulator) with no epsilon, Keras's Adagrad by sqrt(accumulator + "
        "epsilon) with epsilon=1e-07 (epsilon=0.0 matches)")
    assert run.case(f"{module}::accumulator_differs::gradients").verdict \
        == "passed"


@pytest.mark.tensorflow
def test_the_estimator_module_says_why_its_checks_skip_without_tf_estimator(tmp_path):
    pytest.importorskip("tensorflow")
    import tensorflow as tf

    if hasattr(tf.compat.v1, "estimator"):
        pytest.skip("this TensorFlow has tf.estimator")
    run = check(tmp_path, "examples/equiv_estimator.py", env={"TF_EQUIV_TF1_PYTHON": ""})
    assert run.returncode == 0, run.stdout[-3000:]
    case = run.case("examples/equiv_estimator.py::estimator::gradients")
    assert case.verdict == "skipped"
    assert case.message.startswith(f"tf.estimator is not in TensorFlow {tf.__version__} "
                                   "(removed in 2.16); run the TF1 side under TensorFlow <= 2.15")
