"""The check table is the one place a check is described: every role it names has its worker
function, and every worker function has its row."""

import pytest

from tf_equiv import checks


def test_the_table_lists_every_check_once_in_report_order():
    assert tuple(s.id for s in checks.TABLE) == checks.ALL_CHECKS
    for spec in checks.TABLE:
        assert spec.tf1_record is None or checks.SPECS[spec.tf1_record].tf1 is not None
        # The one regime the inference graph and the built model are built in computes there.
        assert (spec.regime is not None) == (spec.tf2.stage in ("random", "functional")
                                             or spec.id == checks.INFERENCE_REGIME)
        assert spec.weights in (None, "constant", "transferred", "checkpoint")


def test_derived_facts():
    assert checks.tf2_only("variables_created_once")
    assert not checks.tf2_only("functional_training[constant]")
    assert checks.tf1_source("functional_training[constant]") == "random_training[constant]"
    assert checks.stage_checks("tf1", "random", ["functional_training[constant]"]) \
        == ["random_training[constant]"]
    assert checks.needs_transfer(["gradients"]) and not checks.needs_transfer(["constant_inference"])


@pytest.mark.tensorflow
def test_every_role_has_its_worker_function():
    from tf_equiv.worker import tf1, tf2

    stepped = {("tf1", "inference"): set(tf1.STEPS), ("tf2", "built"): set(tf2.STEPS["built"]),
               ("tf2", "transfer"): set(tf2.STEPS["transfer"])}
    for (side, stage), registered in stepped.items():
        assert registered == set(checks.stage_checks(side, stage, checks.ALL_CHECKS)), (side, stage)
    # Steps that change the weights run after those that read the side's own values (TF1's
    # training run builds a graph of its own; TF2's copies the TF1 values in again first).
    weights = [s for s in tf1.STEPS if s != "training_run"]
    assert weights[-3:] == ["optimizer_steps", "constant_inference", "checkpoint_inference"]
    assert list(tf2.STEPS["transfer"])[-2:] == ["optimizer_steps", "training_run"]
    # The regime the inference stages are built in reads the initial values before any step.
    assert list(tf1.STEPS)[:2] == ["variables_match", checks.INFERENCE_REGIME]
    assert list(tf2.STEPS["built"])[0] == checks.INFERENCE_REGIME
    assert checks.spec(checks.INFERENCE_REGIME).regime == (False, "num_random_ops")


def test_backward_records_default_to_their_class_tolerance():
    from tf_equiv.pair import tolerance_for

    assert tolerance_for("gradients/dense/kernel", {}, 1e-6, 1e-5) == (1e-4, 1e-5)
    assert tolerance_for("optimizer_steps/1/dense/kernel", {}, 1e-6, 1e-5) == (1e-5, 1e-5)
    assert tolerance_for("training_run/loss", {}, 1e-6, 1e-5) == (1e-4, 1e-5)
    assert tolerance_for("outputs/logits", {}, 1e-6, 1e-5) == (1e-6, 1e-5)
    assert tolerance_for("gradients/dense/kernel", {}, 1e-3, 1e-5) == (1e-3, 1e-5)
