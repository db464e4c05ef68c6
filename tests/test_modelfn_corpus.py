"""The corpus's Estimator pairs (tests/corpus/equiv_*estimator*.py), checked in one command with
their TF1 side, the tutorial's model_fn, under TensorFlow 2.15.1 (`--tf1-python`): the Keras
migration passes every check, and each broken migration fails the check that can see its defect,
with a message that names it (the optimizer defaults that differ, in the hint)."""
from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT, check
from test_modelfn import LEGACY_PYTHON, _legacy_has_estimator, cross_version

CORPUS = os.path.join(ROOT, "tests", "corpus")
MODULES = ("equiv_estimator_iris.py", "equiv_broken_estimator_loss.py",
           "equiv_broken_estimator_optimizer.py", "equiv_broken_estimator_metrics.py")
RMSPROP = ("the optimizers differ: TF1's RMSPropOptimizer starts its mean square (slot rms) at 1, "
           "Keras's RMSprop its velocity at 0, which no argument changes (assign 1 to the velocity "
           "slots after optimizer.build(variables)): the first steps differ most; epsilon 1e-10 "
           "in TF1's RMSPropOptimizer, 1e-07 in Keras's RMSprop (epsilon=1e-10 matches)")
MOMENTUM = ("the optimizers differ: TF1's MomentumOptimizer multiplies its whole accumulator by "
            "the current learning rate, Keras's SGD (momentum) keeps each step's rate in its "
            "velocity: with a learning rate that changes (a schedule) the steps differ from the "
            "second on, with a constant one they agree")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    _legacy_has_estimator()
    folder = tmp_path_factory.mktemp("estimators")
    return check(folder, *MODULES, "--tf1-python", LEGACY_PYTHON, cwd=CORPUS,
                 env={"TF_EQUIV_TF1_PYTHON": ""}), folder


@cross_version[0]
@cross_version[1]
def test_the_tutorial_model_fn_migration_passes_every_check(run):
    verdicts = run[0].verdicts("equiv_estimator_iris.py::estimator_iris")
    assert len(verdicts) == 13 and "eval_metrics" in verdicts, verdicts
    assert set(verdicts.values()) == {"passed"}, {
        c: run[0].case(f"equiv_estimator_iris.py::estimator_iris::{c}").message
        for c, v in verdicts.items() if v != "passed"}


@cross_version[0]
@cross_version[1]
def test_eval_metric_ops_match_their_keras_metrics_on_the_training_batches(run):
    # The EVAL spec's accuracy and loss over three batches of train.batches, against
    # SparseCategoricalAccuracy on the logits and the mean of loss(labels, outputs).
    pair = "equiv_estimator_iris.py::estimator_iris_batches"
    assert run[0].verdicts(pair) == {"eval_metrics": "passed"}, \
        run[0].case(f"{pair}::eval_metrics").message


@cross_version[0]
@cross_version[1]
def test_a_top_k_keras_metric_fails_eval_metrics_at_its_record(run):
    case = run[0].case("equiv_broken_estimator_metrics.py::top_k_metric::eval_metrics")
    assert case.verdict == "failed"
    # The loss is the same on both sides: only the accuracy, the first record, parts.
    assert case.message.startswith("eval_metrics: first divergence in forward order: "
                                   "eval_metrics/accuracy: "), case.message
    assert "Hint: the loss agrees, so the metrics differ: accuracy (SparseTopKCategoricalAccuracy " \
           "on outputs/logits): the Keras metric computes another quantity" in case.message


@cross_version[0]
@cross_version[1]
def test_metrics_that_miss_an_eval_metric_ops_key_is_an_error_naming_both(run):
    case = run[0].case("equiv_broken_estimator_metrics.py::misnamed_metric::eval_metrics")
    assert case.verdict == "error"
    assert "eval_metrics: eval_metric_ops keys without a Pair metrics entry: accuracy; metrics " \
           "keys the model_fn's eval_metric_ops do not have: acc (it has accuracy)" \
        in case.message, case.message


@cross_version[0]
@cross_version[1]
def test_a_summed_loss_fails_the_gradients_at_the_first_layer(run):
    pair = "equiv_broken_estimator_loss.py::broken_estimator_loss"
    gradients = run[0].case(f"{pair}::gradients")
    assert gradients.verdict == "failed"
    # A batch of 6: the sum is 6 times the mean, a relative difference of 5.
    assert gradients.message.startswith("gradients: first divergence in forward order: "
                                        "gradients/dense/kernel: max abs diff ")
    assert "max rel diff 5 at index" in gradients.message
    steps = run[0].case(f"{pair}::optimizer_steps")
    assert steps.verdict == "failed"
    assert "first divergence in forward order: optimizer_steps/1/loss: " in steps.message
    # Both optimizers are Adagrad with the same settings: no optimizer is blamed.
    assert "Hint: the optimizers differ" not in steps.message


@cross_version[0]
@cross_version[1]
@pytest.mark.parametrize("pair, step, hint", [("rmsprop_defaults", 1, RMSPROP),
                                              ("momentum_decay", 2, MOMENTUM)])
def test_keras_optimizer_defaults_fail_optimizer_steps_naming_them(run, pair, step, hint):
    result, folder = run
    case_id = f"equiv_broken_estimator_optimizer.py::{pair}"
    assert result.verdicts(case_id)["gradients"] == "passed"
    case = result.case(f"{case_id}::optimizer_steps")
    assert case.verdict == "failed"
    assert case.message.startswith("optimizer_steps: first divergence in forward order: "
                                   f"optimizer_steps/{step}/dense/kernel: ")
    assert case.message.endswith(f". Hint: {hint}")
    assert f"Hint: {hint}" in result.stdout
    properties = {p.get("name"): p.get("value")
                  for p in ET.parse(folder / "report.xml").iter("property")}
    assert json.loads(properties[f"hint.{pair}::optimizer_steps"]) == hint


@pytest.fixture(scope="module")
def mnist(tmp_path_factory):
    _legacy_has_estimator()
    folder = tmp_path_factory.mktemp("mnist")
    return check(folder, "equiv_estimator_mnist.py", "equiv_broken_estimator_updates.py",
                 "equiv_estimator_dropout.py", "equiv_broken_estimator_dropout.py",
                 "--tf1-python", LEGACY_PYTHON, cwd=CORPUS, env={"TF_EQUIV_TF1_PYTHON": ""})


@cross_version[0]
@cross_version[1]
def test_a_batch_norm_model_fn_with_its_update_ops_trains_as_keras_does(mnist):
    verdicts = mnist.verdicts("equiv_estimator_mnist.py::estimator_mnist")
    # gradients and optimizer_steps too: TRAIN mode against the Keras model in training mode.
    assert len(verdicts) == 13 and {"gradients", "optimizer_steps", "training_run"} <= \
        set(verdicts), verdicts
    assert set(verdicts.values()) == {"passed"}, {
        c: mnist.case(f"equiv_estimator_mnist.py::estimator_mnist::{c}").message
        for c, v in verdicts.items() if v != "passed"}


@cross_version[0]
@cross_version[1]
def test_batch_norm_updates_left_out_of_the_train_op_fail_at_the_moving_mean(mnist):
    case = mnist.case("equiv_broken_estimator_updates.py::broken_estimator_updates::training_run")
    assert case.verdict == "failed"
    # The loss does not read the moving statistics in training mode: only they part.
    assert case.message.startswith("training_run: the sides leave the noise band between step 1 "
                                   "and step 5 of 10")
    assert "the variable that moved first: batch_normalization/moving_mean (at step 5:" \
        in case.message


@cross_version[0]
@cross_version[1]
def test_a_dropout_model_fn_passes_gradients_and_optimizer_steps_masks_lined_up(mnist):
    verdicts = mnist.verdicts("equiv_estimator_dropout.py::estimator_dropout")
    assert verdicts == dict.fromkeys(("transferred_inference", "gradients", "optimizer_steps"),
                                     "passed"), {
        c: mnist.case(f"equiv_estimator_dropout.py::estimator_dropout::{c}").message
        for c in verdicts}


@cross_version[0]
@cross_version[1]
def test_a_dropout_rate_changed_fails_gradients_at_the_first_layer(mnist):
    pair = "equiv_broken_estimator_dropout.py::broken_estimator_dropout"
    # Dropout is off in inference: only the training-mode checks see the rate.
    assert mnist.verdicts(pair)["transferred_inference"] == "passed"
    gradients = mnist.case(f"{pair}::gradients")
    assert gradients.verdict == "failed"
    assert gradients.message.startswith("gradients: first divergence in forward order: "
                                        "gradients/dense/kernel: ")
    steps = mnist.case(f"{pair}::optimizer_steps")
    assert steps.verdict == "failed"
    assert steps.message.startswith("optimizer_steps: first divergence in forward order: "
                                    "optimizer_steps/1/loss: ")


@cross_version[0]
@cross_version[1]
def test_training_mode_gradients_and_steps_pass_with_onednn_off(tmp_path):
    _legacy_has_estimator()
    result = check(tmp_path, "equiv_estimator_mnist.py", "equiv_estimator_dropout.py",
                   "--select", "*::gradients", "--select", "*::optimizer_steps",
                   "--tf1-python", LEGACY_PYTHON, cwd=CORPUS,
                   env={"TF_EQUIV_TF1_PYTHON": "", "TF_ENABLE_ONEDNN_OPTS": "0"})
    verdicts = {**result.verdicts("equiv_estimator_mnist.py::estimator_mnist"),
                **{f"dropout {c}": v for c, v in
                   result.verdicts("equiv_estimator_dropout.py::estimator_dropout").items()}}
    assert verdicts == dict.fromkeys(("gradients", "optimizer_steps", "dropout gradients",
                                      "dropout optimizer_steps"), "passed"), result.stdout[-3000:]
    assert "onednn 0" in result.stdout
