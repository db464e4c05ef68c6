"""training_run: both sides trained on the same batches, judged against the noise of the run
itself, a failure bisected to the step. Real TensorFlow, real training loops (tests/fixtures_train):
correct migrations with SGD-momentum, Adam with a decaying and a piecewise schedule pass over 120
steps; a wrong Adam epsilon, a regularizer counted twice, a batch-norm momentum changed, schedules
off by one step and a learning rate off by 1e-3 fail at their step with their message."""
from __future__ import annotations

import os
import re

import pytest
from conftest import ROOT, check

from tf_equiv.report.read_junit import read_junit

pytestmark = pytest.mark.tensorflow

FOLDER = os.path.join(ROOT, "tests", "fixtures_train")
PREFIX = "equiv_training.py::"
CORRECT = ("momentum", "adam_decay", "piecewise")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("training")


@pytest.fixture(scope="module")
def run(folder):
    return check(folder, "equiv_training.py", cwd=FOLDER, explain=True)


def _case(run, pair: str):
    return run.case(f"{PREFIX}{pair}::training_run")


@pytest.mark.parametrize("pair", CORRECT)
def test_a_correct_migration_trains_120_steps_inside_the_noise_band(run, folder, pair):
    assert _case(run, pair).verdict == "passed", _case(run, pair).message
    case = next(c for c in read_junit(str(folder / "report.xml")).cases if c.pair == pair)
    assert case.margin is not None and case.margin > 1
    assert case.message.startswith("training_run: 120 steps inside the noise band (the loss "
                                   "every step, "), case.message
    assert "margin" in case.message


# pair -> (where the sides leave the band, what the bisection finds)
DEFECTS = {
    # TF1's Adam uses epsilon 1e-8, Keras's defaults to 1e-7: the first update differs.
    "adam_epsilon": ("leave the noise band at step 2 of 120", "step 1 is wrong"),
    # A Keras schedule read one step ahead: the first update's rate differs.
    "schedule_off_by_one": ("leave the noise band at step 2 of 120", "step 1 is wrong"),
    # The kernels' L2 added again by add_loss: the first loss differs.
    "regularizer_twice": ("leave the noise band at step 1 of 120: loss TF1 1.13231, TF2 1.14777",
                          "step 1 is wrong: run on both sides from TF1's state after step 0, "
                          "one step already differs at its loss"),
    # Batch norm's moving statistics advance at another rate: the loss (batch statistics in
    # training) does not show it, the recorded variables do.
    "bn_momentum": ("leave the noise band between step 1 and step 10 of 120 (variables are "
                    "recorded every 10 steps; the loss stayed inside",
                    "step 1 is wrong"),
    # The rate drops after global step 50 in TF1, 51 in TF2: the 52nd step is the wrong one, and
    # the loss before the 53rd the first to show it.
    "piecewise_boundary_off_by_one": ("leave the noise band at step 53 of 120",
                                      "step 52 is wrong: run on both sides from TF1's state after "
                                      "step 51"),
}


@pytest.mark.parametrize("pair", sorted(DEFECTS))
def test_a_defect_fails_at_its_step_and_the_bisection_names_the_step(run, pair):
    case = _case(run, pair)
    where, bisected = DEFECTS[pair]
    assert case.verdict == "failed", case.message
    assert where in case.message, case.message
    assert f"Explanation: {bisected}" in case.message, case.message
    assert "likely a migration bug in what one step computes" in case.message


def test_the_message_names_the_variable_that_moved_first_and_both_losses(run):
    bn = _case(run, "bn_momentum").message
    assert "the variable that moved first: net/bn/moving_" in bn, bn
    late = _case(run, "piecewise_boundary_off_by_one")
    assert "loss TF1 0.000" in late.message and ", TF2 0.000" in late.message
    # The bisection started from the last recorded step where the sides agreed, not from step 1.
    assert "steps 51..52 re-run from TF1's state each; step 52 differs first" in late.text


def test_the_diagnosis_and_reports_carry_the_curves(run, folder):
    section = run.stdout.split(" DIAGNOSIS ")[1].split(" FAILURES ")[0]
    assert "equiv_training.py::piecewise_boundary_off_by_one: 1 cause of 1 failing check" in section
    assert "step 52 is wrong" in section
    assert "next: compare the two sides' optimizer settings" in section
    # The terminal shows the curves as sparklines.
    assert "loss TF1    " in run.stdout and "noise band  " in run.stdout
    # The JUnit report keeps every run's curves (thinned to 100 points) for merge and the Action.
    report = read_junit(str(folder / "report.xml"))
    trained = [c for c in report.cases if c.check == "training_run"]
    assert len(trained) == 9
    for case in trained:
        series = dict(case.series)
        assert set(series) == {"step", "loss_tf1", "loss_tf2", "divergence", "band"}
        assert len(series["step"]) == 100 and series["step"][-1] == 120.0


def test_a_learning_rate_off_by_1e3_fails_with_onednn_on_and_off(tmp_path):
    """The noise band is measured on each run and never hides a defect of 1e-3 relative."""
    for onednn in ("1", "0"):
        done = check(tmp_path / onednn, "equiv_training.py", "--select", "*momentum*",
                     "--select", "*learning_rate_1e3*", cwd=FOLDER,
                     env={"TF_ENABLE_ONEDNN_OPTS": onednn})
        assert _case(done, "momentum").verdict == "passed", _case(done, "momentum").message
        defect = _case(done, "learning_rate_1e3")
        assert defect.verdict == "failed", defect.message
        assert "training_run: the sides leave the noise band at step " in defect.message
        report = read_junit(os.path.join(str(tmp_path / onednn), "report.xml"))
        momentum = next(c for c in report.cases if c.pair == "momentum")
        band = dict(momentum.series)["band"]
        # The band is the floor (1e-4) plus the run's own noise, which grows over the steps.
        assert band[0] == pytest.approx(1e-4) and band[-1] > band[0], band


def test_with_onednn_on_the_band_holds_a_onednn_off_run_and_a_1e3_defect_still_fails(tmp_path):
    """A conv net, whose oneDNN kernels round otherwise than Eigen's: with oneDNN on, the TF1 run
    is trained again with it off and the band takes in that drift where it exceeds the one-ulp
    model's (so it widens there); with oneDNN off there is no such noise and no such run. Either
    way a learning rate 1e-3 too large leaves the band."""
    prefix = "equiv_training_conv.py::"
    for onednn in ("1", "0"):
        done = check(tmp_path / onednn, "equiv_training_conv.py", cwd=FOLDER,
                     env={"TF_ENABLE_ONEDNN_OPTS": onednn})
        correct = done.case(f"{prefix}conv::training_run")
        assert correct.verdict == "passed", correct.message
        defect = done.case(f"{prefix}conv_learning_rate_1e3::training_run")
        assert defect.verdict == "failed", defect.message
        assert "training_run: the sides leave the noise band at step " in defect.message
        report = read_junit(os.path.join(str(tmp_path / onednn), "report.xml"))
        detail = next(c for c in report.cases if c.pair == "conv").detail
        kernels = re.findall(r"noise: the TF1 run again with oneDNN off .*: largest relative "
                             r"drift (\S+), the widest of the noise runs at (\d+) of (\d+) "
                             r"records", detail)
        if onednn == "0":
            assert not kernels, detail
            continue
        assert len(kernels) == 1, detail
        drift, widest, records = float(kernels[0][0]), int(kernels[0][1]), int(kernels[0][2])
        assert drift > 0 and 0 < widest < records, detail


def test_bad_batches_and_a_run_that_diverges_say_what_is_wrong(tmp_path):
    done = check(tmp_path, "equiv_training_errors.py", cwd=FOLDER,
                 env={"TF_ENABLE_ONEDNN_OPTS": "1"})
    prefix = "equiv_training_errors.py::"
    for pair in ("raising_batches", "wrong_batch_shape", "no_batches", "diverges"):
        assert done.case(f"{prefix}{pair}::transferred_inference").verdict == "passed"
    assert done.case(f"{prefix}raising_batches::training_run").message == (
        "training_run: TF1 side: train.batches() raised ValueError: the dataset is not mounted "
        "(equiv_training_errors.py:15)")
    assert done.case(f"{prefix}wrong_batch_shape::training_run").message == (
        "training_run: TF1 side: train.batches: batch 1 has inputs of shape (8, 9) float32, the "
        "pair's inputs (16, 8) float32 (every batch is shaped like the inputs)")
    assert done.case(f"{prefix}no_batches::training_run").message == \
        "training_run: TF1 side: train.batches() returned no batch"
    unseeded = done.case(f"{prefix}unseeded_batches::training_run")
    assert unseeded.verdict == "passed", unseeded.message
    detail = next(c for c in read_junit(str(tmp_path / "report.xml")).cases
                  if c.pair == "unseeded_batches").detail
    assert ("noise: the TF1 run with oneDNN off is missing (it drew other batches than the TF1 "
            "run (train.batches gives other arrays when called again with numpy's seed reset)): "
            "the band is the one-ulp model alone") in detail, detail
    eager = done.case(f"{prefix}eager_only::training_run")
    assert eager.verdict == "passed", eager.message
    detail = next(c for c in read_junit(str(tmp_path / "report.xml")).cases
                  if c.pair == "eager_only").detail
    assert "TF2 step: eager: tracing the step raised " in detail, detail
    diverged = done.case(f"{prefix}diverges::training_run")
    assert diverged.verdict == "failed"
    assert diverged.message.startswith("training_run: vacuous: the loss is not finite on both "
                                       "sides from step ")


# The classic traps (tests/fixtures_train/equiv_training_traps.py), run without explanations: the
# steps run from TF1's state are part of the verdict. pair -> (where the free runs leave the
# band, the step found wrong)
TRAPS = {
    # TF1 scales its whole accumulator by today's rate, Keras keeps each step's rate in it.
    "momentum_decay": ("leave the noise band at step 3 of 30", "step 2 is wrong"),
    # TF1's accumulator starts at 1, Keras's at 0: the first update differs.
    "rmsprop_defaults": ("leave the noise band at step 2 of 30", "step 1 is wrong"),
    "clipping_dropped": ("leave the noise band at step 2 of 30", "step 1 is wrong"),
    "weight_decay_dropped": ("leave the noise band at step 1 of 30: loss TF1 1.13231, TF2 1.11685",
                             "step 1 is wrong: run on both sides from TF1's state after step 0, "
                             "one step already differs at its loss"),
    # The rate of global step 1 differs: the second step.
    "staircase_dropped": ("leave the noise band at step 3 of 30", "step 2 is wrong"),
}


@pytest.fixture(scope="module")
def traps_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("traps")


@pytest.fixture(scope="module")
def traps(traps_folder):
    return check(traps_folder, "equiv_training_traps.py", cwd=FOLDER)


@pytest.mark.parametrize("pair", sorted(TRAPS))
def test_a_classic_trap_fails_at_its_step_and_the_steps_name_the_wrong_one(traps, pair):
    case = traps.case(f"equiv_training_traps.py::{pair}::training_run")
    where, wrong = TRAPS[pair]
    assert case.verdict == "failed", case.message
    assert where in case.message, case.message
    assert f"Explanation: {wrong}" in case.message, case.message
    assert "likely a migration bug in what one step computes" in case.message


# The traps of an optimizer default that TF1 and Keras do not share: the hint names it, from the
# optimizers each side trained with (verdict/optimizers.py), as the step found wrong's next step.
NAMED = {
    "momentum_decay": "the optimizers differ: TF1's MomentumOptimizer multiplies its whole "
                      "accumulator by the current learning rate, Keras's SGD (momentum) keeps "
                      "each step's rate in its velocity",
    "rmsprop_defaults": "the optimizers differ: TF1's RMSPropOptimizer starts its mean square "
                        "(slot rms) at 1, Keras's RMSprop its velocity at 0, which no argument "
                        "changes (assign 1 to the velocity slots after "
                        "optimizer.build(variables)): the first steps differ most; epsilon "
                        "1e-10 in TF1's RMSPropOptimizer, 1e-07 in Keras's RMSprop "
                        "(epsilon=1e-10 matches)",
}


@pytest.mark.parametrize("pair", sorted(NAMED))
def test_a_trap_of_optimizer_defaults_names_the_default_in_its_hint(traps, pair):
    case = traps.case(f"equiv_training_traps.py::{pair}::training_run")
    assert case.verdict == "failed", case.message
    assert f"likely a migration bug in what one step computes. Hint: {NAMED[pair]}" \
        in case.message, case.message
    assert case.message.count("Hint: ") == 1, case.message


def test_a_trap_the_optimizers_do_not_explain_keeps_the_settings_to_compare(traps):
    case = traps.case("equiv_training_traps.py::clipping_dropped::training_run")
    assert "the optimizers differ" not in case.message, case.message
    assert "Hint: compare the two sides' optimizer settings" in case.message, case.message


@pytest.mark.parametrize("pair", ["clipping_kept", "staircase_kept"])
def test_the_traps_done_right_pass(traps, traps_folder, pair):
    assert traps.case(f"equiv_training_traps.py::{pair}::training_run").verdict == "passed"
    case = next(c for c in read_junit(str(traps_folder / "report.xml")).cases if c.pair == pair)
    assert case.message.startswith("training_run: 30 steps inside the noise band"), case.message
