"""The check table is the one place a check is described: every role it names has its worker
function, and every worker function has its row."""

import ast
import os

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


# ---- the workers' step registry, read from their source (no TensorFlow) -------------------------

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "checker", "tf_equiv",
                      "worker")


def _steps(side: str) -> list[tuple[str, str]]:
    """(stage, check) of each `@step(...)` in worker/<side>.py, in registration (file) order: TF1
    registers its inference stage only (`@step(check)`), TF2 names the stage
    (`@step(stage, check)`)."""
    with open(os.path.join(WORKER, f"{side}.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    found = []
    for node in tree.body:
        for decorator in getattr(node, "decorator_list", ()):
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "step":
                args = [_value(a) for a in decorator.args]
                found.append(("inference", args[0]) if side == "tf1" else (args[0], args[1]))
    return found


def _value(node: ast.expr) -> str:
    """A literal, or a name of the check table (`check_table.INFERENCE_REGIME`)."""
    if isinstance(node, ast.Attribute):
        return getattr(checks, node.attr)
    return ast.literal_eval(node)


def test_every_role_has_its_worker_step_and_every_step_its_row():
    registered = {(side, stage, check) for side in checks.SIDES for stage, check in _steps(side)}
    expected = {(side, stage, check) for side in checks.SIDES for stage in ("inference", "built",
                                                                             "transfer")
                for check in checks.stage_checks(side, stage, checks.ALL_CHECKS)}
    assert registered == expected
    assert len(_steps("tf1")) + len(_steps("tf2")) == len(registered), "a check registered twice"


def test_steps_that_change_the_weights_run_last():
    tf1 = [c for _, c in _steps("tf1")]
    tf2 = {stage: [c for s, c in _steps("tf2") if s == stage] for stage in ("built", "transfer")}
    weights = [c for c in tf1 if c != checks.TRAINING_RUN]
    assert weights[-3:] == ["optimizer_steps", "constant_inference", "checkpoint_inference"]
    assert tf2["transfer"][-2:] == ["optimizer_steps", checks.TRAINING_RUN]
    assert tf1[:2] == ["variables_match", checks.INFERENCE_REGIME]
    assert tf2["built"][0] == checks.INFERENCE_REGIME


def test_what_explanations_and_localization_read_from_the_table():
    # One check runs the TF2 model in tf.function; it is the twin of the checks that
    # --tf1-optimized compares with an eager TF2 side.
    assert [s.id for s in checks.TABLE if s.graph_optimized] == ["tf_function"]
    assert [s.id for s in checks.TABLE if s.tf1_optimized_twin] == ["transferred_inference"]
    localized = sorted((s for s in checks.TABLE if s.weights), key=lambda s: s.localize_order)
    assert [s.id for s in localized][:3] == ["transferred_inference", "constant_inference",
                                             "checkpoint_inference"]
    assert len({s.localize_order for s in localized}) == len(localized)
    assert {s.weights for s in localized} == set(checks.WEIGHTS)
    assert {s.id: s.compare for s in checks.TABLE if s.compare != "records"} == {
        "variables_created_once": "created_once", "variables_match": "variables",
        "optimizer_steps": "slots", "training_run": "training"}
    assert checks.spec(checks.TRAINING_RUN).compare == "training"
