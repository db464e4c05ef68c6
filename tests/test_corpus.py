"""The corpus of real migrations (tests/corpus): each correct one passes every check that applies,
and each broken one fails the checks that can see its defect, with a message that names it.

The modules follow TensorFlow's migration guides and tf_slim's nets (each says which); the whole
folder is run once by the real command.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT, check

# Every test reads `corpus_run`, the real command over tests/corpus.
pytestmark = pytest.mark.tensorflow

CORPUS = os.path.join(ROOT, "tests", "corpus")

ALL = ("variables_created_once", "variables_match", "constant_inference", "transferred_inference",
       "random_inference[num_random_ops]", "random_inference[constant]",
       "random_training[num_random_ops]", "random_training[constant]",
       "functional_training[constant]", "gradients", "tf_function")
RANDOM = ALL[4:9]
NUM_RANDOM_OPS = ("random_inference[num_random_ops]", "random_training[num_random_ops]")
# What a broken forward pass fails: everything but the checks that cannot see a weight's value.
FORWARD = ("transferred_inference", *RANDOM, "gradients", "tf_function")

#: Every correct pair and the checks that apply to it (all must pass).
CORRECT = {
    "equiv_validate_correctness.py::inception_resnet": ALL,
    "equiv_validate_correctness.py::fixed_scaling": ALL,
    "equiv_model_mapping.py::compat_v1_layers": ALL,
    "equiv_model_mapping.py::nested_layer": ALL,
    "equiv_model_mapping.py::make_template": ALL,
    "equiv_slim_nets.py::resnet_v2_small_blocks": ALL,
    "equiv_slim_nets.py::inception_v2_mixed_3b": ALL,
    "equiv_native_keras.py::simple_model": (*ALL, "optimizer_steps"),
    "equiv_native_keras.py::fully_native": ALL,
    "equiv_native_convnet.py::native_convnet": ALL,
    "equiv_shim_layers.py::embedded_keras_model": ALL,
    "equiv_shim_layers.py::get_or_create_layer": ALL,
    "equiv_shim_layers.py::training_arg": ALL,
    "equiv_checkpoint_rename.py::new_scope": (*ALL, "checkpoint_inference"),
    # A tf.Module, not a Keras layer: functional_training does not apply (skipped, and says why).
    "equiv_checkpoint_rename.py::tf_variables": (
        *(c for c in ALL if c != "functional_training[constant]"), "checkpoint_inference"),
}
NOT_APPLICABLE = {"equiv_checkpoint_rename.py::tf_variables": ("functional_training[constant]",)}


#: Random regimes that cannot apply: both sides draw these initial values with stateless ops
#: (the default kernel initializer of tf.compat.v1.layers and Keras in TF 2.16+), which
#: DeterministicRandomTestTool does not seed. Skipped, saying so; the transfer checks still apply.
UNALIGNABLE = {pair: RANDOM for pair in (
    "equiv_model_mapping.py::compat_v1_layers", "equiv_model_mapping.py::nested_layer",
    "equiv_native_keras.py::simple_model", "equiv_native_keras.py::fully_native")}


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    """The whole corpus, run once by the real command (without the explanations' re-runs), after
    the TF1 program of the checkpoint guide wrote the checkpoint it restores."""
    subprocess.run([sys.executable, os.path.join(CORPUS, "_make_checkpoint.py")], check=True,
                   capture_output=True)
    # The Estimator modules' TF1 side runs under TensorFlow <= 2.15 only (tests/test_modelfn_corpus.py
    # checks them so); here, under this TensorFlow, they say why their checks are skipped.
    return check(tmp_path_factory.mktemp("corpus"), ".", cwd=CORPUS,
                 env={"TF_EQUIV_TF1_PYTHON": ""})


def failed(run, pair: str) -> set:
    return {c for c, v in run.verdicts(pair).items() if v == "failed"}


def test_run_finds_every_pair_and_exits_1(corpus_run):
    assert corpus_run.returncode == 1, corpus_run.stdout[-3000:]
    pairs = {"::".join(k.split("::")[:2]) for k in corpus_run.cases}
    assert set(CORRECT) <= pairs
    # and the seven broken ones, and the Estimator pairs
    assert len(pairs) == len(CORRECT) + 7 + len(ESTIMATOR), sorted(pairs)


#: The Estimator pairs (a model_fn as the TF1 side), and the TF2-only checks they run here.
ESTIMATOR = {"equiv_estimator_iris.py::estimator_iris": ("variables_created_once",),
             "equiv_broken_estimator_loss.py::broken_estimator_loss": (),
             "equiv_broken_estimator_optimizer.py::rmsprop_defaults": (),
             "equiv_broken_estimator_optimizer.py::momentum_decay": (),
             "equiv_estimator_mnist.py::estimator_mnist": ("variables_created_once",),
             "equiv_broken_estimator_updates.py::broken_estimator_updates": (),
             "equiv_estimator_dropout.py::estimator_dropout": (),
             "equiv_broken_estimator_dropout.py::broken_estimator_dropout": (),
             "equiv_estimator_iris.py::estimator_iris_batches": (),
             "equiv_broken_estimator_metrics.py::top_k_metric": (),
             "equiv_broken_estimator_metrics.py::misnamed_metric": ()}


@pytest.mark.parametrize("pair", sorted(ESTIMATOR))
def test_estimator_pairs_say_why_they_skip_without_tf_estimator(corpus_run, pair):
    import tensorflow as tf

    if hasattr(tf.compat.v1, "estimator"):
        pytest.skip("this TensorFlow has tf.estimator")
    for check_id, verdict in corpus_run.verdicts(pair).items():
        case = corpus_run.case(f"{pair}::{check_id}")
        if check_id in ESTIMATOR[pair]:
            assert verdict == "passed", f"{check_id}: {case.message}"
        else:
            assert verdict == "skipped", f"{check_id}: {case.message}"
            assert case.message.startswith(f"tf.estimator is not in TensorFlow {tf.__version__} "
                                           "(removed in 2.16)")


@pytest.mark.parametrize("pair", sorted(CORRECT))
def test_correct_migration_passes_every_check(corpus_run, pair):
    verdicts = corpus_run.verdicts(pair)
    assert set(verdicts) == set(CORRECT[pair]) | set(NOT_APPLICABLE.get(pair, ())), verdicts
    for check_id, verdict in sorted(verdicts.items()):
        case = corpus_run.case(f"{pair}::{check_id}")
        if check_id in UNALIGNABLE.get(pair, ()):
            assert verdict == "skipped", f"{check_id}: {verdict}: {case.message}"
            assert "not applicable" in case.message
            assert "drawn by ops DeterministicRandomTestTool cannot seed" in case.message
        elif check_id not in NOT_APPLICABLE.get(pair, ()):
            assert verdict == "passed", f"{check_id}: {verdict}: {case.message}"


def test_name_maps_line_up_native_keras_names(corpus_run):
    # Keras names variables after the model and its auto-named layers; each pair maps them.
    for pair in ("equiv_native_keras.py::simple_model", "equiv_native_keras.py::fully_native",
                 "equiv_native_convnet.py::native_convnet",
                 "equiv_checkpoint_rename.py::new_scope",
                 "equiv_validate_correctness.py::fixed_scaling"):
        assert corpus_run.verdicts(pair)["variables_match"] == "passed", pair
        assert corpus_run.verdicts(pair)["transferred_inference"] == "passed", pair


def test_tf_module_is_not_placed_in_a_functional_model(corpus_run):
    case = corpus_run.case(
        "equiv_checkpoint_rename.py::tf_variables::functional_training[constant]")
    assert case.verdict == "skipped"
    assert "not a Keras layer" in case.message


def test_wrong_activation_diverges_at_its_block(corpus_run):
    pair = "equiv_broken_activation.py::broken_activation"
    # With every weight at 0.001 block1's ReLU output is >= 0, so block2's pre-activations are
    # positive and ReLU equals leaky ReLU there: the constant reset cannot see this defect.
    assert failed(corpus_run, pair) == set(FORWARD)
    case = corpus_run.case(f"{pair}::transferred_inference")
    assert "first divergence in forward order: outputs/block2: max abs diff" in case.message


def test_changed_dropout_rate_fails_training_only(corpus_run):
    pair = "equiv_broken_dropout.py::broken_dropout"
    assert failed(corpus_run, pair) == {"random_training[num_random_ops]",
                                        "random_training[constant]",
                                        "functional_training[constant]"}
    case = corpus_run.case(f"{pair}::random_training[num_random_ops]")
    # The blocks come before the dropout and still agree; the logits after it do not.
    assert "first divergence in forward order: outputs/logits: max abs diff" in case.message


def test_missing_regularizer_fails_on_regularization_loss(corpus_run):
    pair = "equiv_broken_regularizer.py::broken_regularizer"
    # At 0.001 per weight the missing L2 term is ~1e-9, inside atol: constant_inference is blind.
    assert failed(corpus_run, pair) == set(FORWARD)
    case = corpus_run.case(f"{pair}::transferred_inference")
    assert "first divergence in forward order: regularization_loss: max abs diff" in case.message
    gradients = corpus_run.case(f"{pair}::gradients")
    assert "first divergence in forward order: gradients/convnet/logits/kernel:" \
        in gradients.message


def test_extra_scope_without_name_map_names_the_renames(corpus_run):
    pair = "equiv_broken_scope.py::broken_scope"
    verdicts = corpus_run.verdicts(pair)
    assert verdicts["variables_created_once"] == "passed"
    assert verdicts["variables_match"] == "failed"
    case = corpus_run.case(f"{pair}::variables_match")
    assert "8 variables only in TF2: migrated/convnet/block1/bias (8,) float32" in case.message
    assert "8 variables only in TF1: convnet/block1/kernel (3, 3, 3, 8) float32" in case.message
    assert "pass name_map=lambda name: name.removeprefix('migrated/')" in case.message
    for check_id in ("transferred_inference", "gradients", "tf_function"):
        assert verdicts[check_id] == "error", check_id
        assert "8 TF2 variables have no TF1 variable of that name: migrated/convnet/" \
            in corpus_run.case(f"{pair}::{check_id}").message


def test_transposed_kernel_fails_where_values_matter(corpus_run):
    pair = "equiv_broken_transposed.py::transposed_kernel"
    # Names and shapes are right, and a constant matrix equals its transpose.
    assert failed(corpus_run, pair) == set(FORWARD)
    case = corpus_run.case(f"{pair}::transferred_inference")
    assert "first divergence in forward order: outputs/hidden: max abs diff" in case.message
    assert "first divergence in forward order: gradients/dense/kernel:" \
        in corpus_run.case(f"{pair}::gradients").message


def test_swapped_layers_fail_where_values_matter(corpus_run):
    pair = "equiv_broken_transposed.py::swapped_layers"
    # In DeterministicRandomTestTool's constant mode both same-shaped kernels draw the same
    # numbers, so the swap is invisible there (the guide's reason for num_random_ops mode).
    assert failed(corpus_run, pair) == {"transferred_inference", *NUM_RANDOM_OPS, "gradients",
                                        "tf_function"}
    case = corpus_run.case(f"{pair}::transferred_inference")
    assert "first divergence in forward order: outputs/layer_1: max abs diff" in case.message
    random = corpus_run.case(f"{pair}::random_inference[num_random_ops]")
    assert "first divergence in forward order: initial/dense/kernel:" in random.message


def test_swapped_creation_order_is_not_blamed_on_the_initializer(corpus_run):
    message = corpus_run.case(
        "equiv_broken_transposed.py::swapped_layers::random_inference[num_random_ops]").message
    assert "cannot align" not in message
    assert ("The sides create their random ops in another order: dense/kernel is drawn at draw 1 "
            "on TF1 and at draw 2 on TF2") in message
    assert "the shifted op seeds explain them" in message


def test_guide_broken_scaling_layer_names_the_line(corpus_run):
    pair = "equiv_broken_recreated.py::broken_scaling"
    case = corpus_run.case(f"{pair}::variables_created_once")
    assert case.verdict == "failed"
    assert ("created 2 new variables, first broken_scaling_layer/Variable:0 at "
            "equiv_broken_recreated.py:23") in case.message
    assert case.line == "23"
    # The layer keeps no reference to its variables: the TF2 model has none.
    variables = corpus_run.case(f"{pair}::variables_match")
    assert "2 variables only in TF1: Variable () float32, bias () float32 (count TF1 2, TF2 0)" \
        in variables.message


def test_transfer_that_copies_nothing_does_not_pass(corpus_run):
    # The TF2 model has no variables: nothing of TF1's would be copied, and the outputs agree only
    # because both sides start at 2.0.
    case = corpus_run.case("equiv_broken_recreated.py::broken_scaling::transferred_inference")
    assert case.verdict == "error"
    assert "2 TF1 variables have no TF2 variable to copy into: Variable, bias" in case.message


def test_tf_function_error_names_its_cause(corpus_run):
    # The model keeps no variable: there is nothing to copy TF1's values into, said as such
    # (its tf.function error was once reported by Keras's last line, "• inputs=...").
    case = corpus_run.case("equiv_broken_recreated.py::broken_scaling::tf_function")
    assert case.verdict == "error"
    assert "2 TF1 variables have no TF2 variable to copy into" in case.message
    assert "•" not in case.message
