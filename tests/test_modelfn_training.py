"""training_run with tf1=ModelFn: the model_fn's own train_op (the global step created first)
trained on its input_fn's (features, labels) batches, each batch's labels fed to the model_fn and
to the TF2 side's loss(labels, outputs). The model_fn needs tf.estimator (TensorFlow <= 2.15):
checked across versions (--tf1-python, where the steps run from TF1's state cannot be run and say
why) and with every worker under TensorFlow 2.15 (where they run and name the wrong step)."""
from __future__ import annotations

import os
import subprocess

import pytest
from conftest import ROOT, Run, check, read_junit
from test_modelfn import LEGACY_PYTHON, _legacy_has_estimator, cross_version

import tf_equiv as api
from tf_equiv.report import read_junit as reports

MODULE = "tests/fixtures_modelfn/equiv_estimator_train.py"
PREFIX = f"{MODULE}::"


def model_fn(features, labels, mode):
    raise AssertionError("never called here")


def test_a_model_fn_trains_in_mode_train_only():
    pair = api.Pair(tf1=api.ModelFn(model_fn, labels=[[1.0]]), tf2=object, inputs=[[1.0]],
                    loss=lambda labels, outputs: outputs, optimizers=(None, object),
                    train=api.Train(training=False))
    assert pair.problems == (
        "train.training: expected True with tf1=ModelFn: the model_fn trains in mode 'train', "
        "the only mode with a train_op, as Estimator.train runs it",)


@pytest.fixture(scope="module")
def across(tmp_path_factory) -> Run:
    _legacy_has_estimator()
    folder = tmp_path_factory.mktemp("across")
    run = check(folder, MODULE, "--tf1-python", LEGACY_PYTHON, env={"TF_EQUIV_TF1_PYTHON": ""})
    return _passing_words(run, folder / "report.xml")


@pytest.fixture(scope="module")
def legacy(tmp_path_factory) -> Run:
    """The checker itself run by the TensorFlow 2.15 interpreter (.ci/setup-legacy installs its
    dependencies there): every worker, the step-wise run's included, has tf.estimator."""
    _legacy_has_estimator()
    folder = tmp_path_factory.mktemp("legacy")
    report = str(folder / "report.xml")
    path = os.path.join(ROOT, "checker")
    proc = subprocess.run([LEGACY_PYTHON, "-m", "tf_equiv", "check", MODULE, "--no-explain",
                           "--junit-xml", report],
                          cwd=ROOT, text=True, capture_output=True, timeout=1500,
                          env={**os.environ, "PYTHONPATH": path, "TF_EQUIV_TF1_PYTHON": ""})
    cases, xml = read_junit(report) if os.path.exists(report) else ({}, None)
    return _passing_words(Run(proc.returncode, proc.stdout, proc.stderr, cases, xml), report)


def _passing_words(run: Run, report: object) -> Run:
    """The run, each passing case with its message (the report keeps it as a property)."""
    if os.path.exists(str(report)):
        for case in reports.read_junit(str(report)).cases:
            key = f"{case.module}::{case.pair}::{case.check}"
            if key in run.cases and run.cases[key].verdict == "passed":
                run.cases[key].message = case.message
    return run


LEFT = ("training_run: the sides leave the noise band at step 2 of 20: loss TF1 ")
#: The default the accumulator_differs migration misses, read from the model_fn's own optimizer.
ACCUMULATOR = ("Hint: the optimizers differ: TF1's AdagradOptimizer starts its accumulator at "
               "0.1, Keras's Adagrad at 0.01 (initial_accumulator_value=0.1 matches)")


def _passes(run: Run) -> None:
    case = run.case(f"{PREFIX}trained::training_run")
    assert case.verdict == "passed", run.stdout[-3000:]
    assert case.message.startswith("training_run: 20 steps inside the noise band (the loss every "
                                   "step, "), case.message


@cross_version[0]
@cross_version[1]
def test_across_versions_the_model_fn_trains_on_its_input_fn_like_the_migration(across):
    _passes(across)


@cross_version[0]
@cross_version[1]
def test_across_versions_a_wrong_accumulator_fails_and_says_why_the_steps_did_not_run(across):
    case = across.case(f"{PREFIX}accumulator_differs::training_run")
    assert case.verdict == "failed", across.stdout[-3000:]
    assert case.message.startswith(LEFT), case.message
    assert "the variable that moved first: hidden/bias/accumulator" in case.message
    assert ACCUMULATOR in case.message, case.message
    assert ("Explanation: not confirmed step by step (each step run again on both sides from "
            "TF1's state tells a wrong step from round-off that training amplified): the steps "
            "run both sides in one process, and the TF1 side runs under TensorFlow 2.15.1 "
            "(--tf1-python), the TF2 side under TensorFlow 2.") in case.message, case.message
    assert "a tf_equiv.ModelFn pair needs one with tf.estimator, <= 2.15" in case.message


@cross_version[0]
@cross_version[1]
def test_batches_without_labels_are_an_error_naming_the_batch(across):
    case = across.case(f"{PREFIX}no_labels::training_run")
    assert case.verdict == "error"
    assert case.message == ("training_run: TF1 side: train.batches: batch 1 is EagerTensor, not "
                            "(features, labels): with tf1=ModelFn each batch is (features, "
                            "labels), as an input_fn's dataset gives them")


@cross_version[0]
@cross_version[1]
def test_under_one_tensorflow_with_tf_estimator_the_steps_name_the_wrong_step(legacy):
    _passes(legacy)
    case = legacy.case(f"{PREFIX}accumulator_differs::training_run")
    assert case.verdict == "failed", legacy.stdout[-3000:]
    assert case.message.startswith(LEFT), case.message
    assert ("Explanation: step 1 is wrong: run on both sides from TF1's state after step 0, one "
            "step already differs at hidden/") in case.message, case.message
    assert f"likely a migration bug in what one step computes. {ACCUMULATOR}" in case.message, \
        case.message
