"""Verdicts that tell the truth: schedules advance as in TF1, values are compared as their type
demands, a check that compared nothing never passes, and an error says its real cause."""
from __future__ import annotations

import os

import pytest
from conftest import FIXTURES, ROOT, check

TRUTH = os.path.join(ROOT, "tests", "fixtures_truth")


@pytest.fixture(scope="module")
def truth_run(tmp_path_factory):
    return check(tmp_path_factory.mktemp("truth"), "equiv_schedule.py", "equiv_values.py",
                 "equiv_raises.py", cwd=TRUTH)


@pytest.mark.tensorflow
def test_a_decaying_schedule_advances_on_both_sides(truth_run):
    assert truth_run.case("equiv_schedule.py::decaying::optimizer_steps").verdict == "passed"
    assert truth_run.case("equiv_schedule.py::polynomial_adam::optimizer_steps").verdict == "passed"


@pytest.mark.tensorflow
def test_another_decay_rate_fails_at_the_first_step_it_changes(truth_run):
    case = truth_run.case("equiv_schedule.py::other_decay_rate::optimizer_steps")
    assert case.verdict == "failed"
    # Step 1 runs at the initial rate on both sides; the rates part at step 2.
    assert "first divergence in forward order: optimizer_steps/2/encoder/hidden/kernel" \
        in case.message


@pytest.mark.tensorflow
def test_keras_adam_default_epsilon_is_a_migration_bug(truth_run):
    case = truth_run.case("equiv_schedule.py::keras_default_epsilon::optimizer_steps")
    assert case.verdict == "failed"
    assert "optimizer_steps/1/encoder/hidden/kernel" in case.message


@pytest.mark.tensorflow
def test_complex_values_are_compared_in_both_parts(truth_run):
    assert truth_run.case("equiv_values.py::complex_same::transferred_inference").verdict \
        == "passed"
    case = truth_run.case("equiv_values.py::complex_imaginary::transferred_inference")
    assert case.verdict == "failed"
    assert "first divergence in forward order: outputs: max abs diff" in case.message


@pytest.mark.tensorflow
def test_integers_are_compared_exactly(truth_run):
    case = truth_run.case("equiv_values.py::int64_off_by_one::transferred_inference")
    assert case.verdict == "failed"
    assert ("1 of 2 integer elements differ (integers are compared exactly); largest difference 1 "
            "at index (0,): TF1 1152921504606846976, TF2 1152921504606846977") in case.message


@pytest.mark.tensorflow
def test_bfloat16_is_compared_with_statistics_at_its_precision(truth_run):
    assert truth_run.case("equiv_values.py::bfloat16_rounding::transferred_inference").verdict \
        == "passed"
    case = truth_run.case("equiv_values.py::bfloat16_off::transferred_inference")
    assert case.verdict == "failed"
    assert "max abs diff" in case.message and "rtol=0.0156" in case.message


@pytest.mark.tensorflow
def test_a_check_that_compared_nothing_fails_as_vacuous(truth_run):
    for check_id in ("transferred_inference", "constant_inference"):
        case = truth_run.case(f"equiv_values.py::returns_none::{check_id}")
        assert case.verdict == "failed"
        assert f"{check_id}: vacuous: compared no outputs" in case.message
        assert "returned no tensor" in case.message
    case = truth_run.case("equiv_values.py::no_trainable::gradients")
    assert case.verdict == "failed"
    assert "gradients: vacuous: compared no gradients of trainable variables" in case.message
    assert truth_run.case("equiv_values.py::no_trainable::transferred_inference").verdict \
        == "passed"


@pytest.mark.tensorflow
def test_an_error_inside_tf_function_names_its_real_cause(truth_run):
    case = truth_run.case("equiv_raises.py::raises_in_tf_function::constant_inference")
    assert case.verdict == "error"
    assert "raised ValueError: Cannot reshape a tensor with 24 elements to shape [5,7]" \
        in case.message
    assert "in user code" not in case.message
    frames = case.text.split("Traceback (user frames only):", 1)[1]
    assert "equiv_raises.py" in frames
    assert "tf_equiv" not in frames and "site-packages" not in frames \
        and "__autograph_generated" not in frames


@pytest.mark.tensorflow
def test_a_named_cause_is_not_explained_again(tmp_path):
    # The first divergence is an initial value the migration draws from another distribution: no
    # variation of the numerics can change that, so none is run and none contradicts it.
    check_id = "random_inference[num_random_ops]"
    run = check(tmp_path, "equiv_initializer.py", "--select", f"changed_initializer::{check_id}",
                cwd=FIXTURES, explain=True)
    case = run.case(f"equiv_initializer.py::changed_initializer::{check_id}")
    assert case.verdict == "failed"
    assert "first divergence in forward order: initial/encoder/hidden/kernel" in case.message
    assert "the distributions differ" in case.message
    assert "Explanation" not in case.message and "likely a migration bug" not in case.message
    assert "explanation (" not in case.text


def test_the_cause_of_a_wrapped_error_is_its_own_line():
    from tf_equiv.worker.user_code import cause_line

    keras = ValueError("Exception encountered when calling layer 'm' (type M).\n\nin user code:\n\n"
                       "    File \"m.py\", line 3, in call  *\n        return f(x)\n\n"
                       "    ValueError: tf.function only supports singleton tf.Variables\n\n\n"
                       "Call arguments received by layer 'm' (type M):\n  • inputs=tf.Tensor()\n"
                       "  • training=False")
    assert cause_line(keras) == "ValueError: tf.function only supports singleton tf.Variables"
    plain = ValueError("in user code:\n\n    File \"m.py\", line 3\n\n    TypeError: bad\n")
    assert cause_line(plain) == "TypeError: bad"
    assert cause_line(ValueError("first line\nsecond")) == "first line"


@pytest.mark.tensorflow
@pytest.mark.parametrize("pair", ["structure", "shape"])
def test_a_structure_that_differs_is_not_explained_again(tmp_path, pair):
    """A missing output or another shape is named as the cause: no variation of the numerics can
    change it, so none is run."""
    fixtures = os.path.join(ROOT, "tests", "fixtures")
    run = check(tmp_path, "equiv_structure.py", "--select", pair, cwd=fixtures, explain=True)
    case = run.case(f"equiv_structure.py::{pair}::transferred_inference")
    assert case.verdict == "failed"
    assert "Explanation" not in case.message and "explanation (" not in case.text
