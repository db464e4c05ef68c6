"""training_run without TensorFlow: the Train declaration, the verdict over two sides' recorded
runs (numpy records as the workers write them), and the reports of its curves."""
from __future__ import annotations

import os
import threading
from dataclasses import replace

import numpy as np
import pytest

import tf_equiv
from tf_equiv.protocol.requests import RunOptions
from tf_equiv.report import github, html, junit
from tf_equiv.report.read_junit import read_junit
from tf_equiv.results import CaseResult, PairResult, Report
from tf_equiv.run.kernels import Steps
from tf_equiv.run.protocol import Done, PairSettings, Transfer
from tf_equiv.run.records import SideCheck, save_arrays, save_stream
from tf_equiv.run.sides import SideRun, SideSpec
from tf_equiv.verdict.outcome import compare_check
from tf_equiv.verdict.steps import confirm_training, judge_steps
from tf_equiv.verdict.training import compare_training, sparkline, window

STEPS, EVERY = 40, 10
SETTINGS = {"rtol": 1e-6, "atol": 1e-5, "tolerances": {},
            "train": {"steps": STEPS, "every": EVERY, "noise_factor": 10.0, "training": True}}


def _pair(**kw):
    return tf_equiv.Pair(tf1=lambda x, training: x, tf2=object, inputs=[1.0], **kw)


# ---- the declaration -----------------------------------------------------------------------------

def test_a_bad_train_declaration_names_each_field():
    bad = _pair(optimizers=(object, object),
                train=tf_equiv.Train(steps=0, every="10", batches=[1, 2], training="yes",
                                     noise_factor=0.5))
    assert bad.problems == (
        "train.steps: expected a positive integer, got 0",
        "train.every: expected a positive integer, got '10'",
        "train.batches: expected a function returning an iterable of batches, or None, got [1, 2]",
        "train.training: expected True or False, got 'yes'",
        "train.noise_factor: expected a number of at least 1, got 0.5")
    assert _pair(train=5).problems == (
        "train: expected tf_equiv.Train(steps=..., batches=...), got 5",)
    assert _pair(train=tf_equiv.Train()).problems == (
        "train: training_run needs optimizers=(tf1_factory, tf2_factory) too",)
    assert _pair(optimizers=(object, object), train=tf_equiv.Train(steps=5)).problems == ()


# ---- the verdict ---------------------------------------------------------------------------------

def _runs(tmp_path, drift=0.0, noise=1e-6, nan_from=None, drop=None):
    """Two sides' records of a run whose weights move by 0.01 a step; TF2 off by `drift` per
    step relative to the movement, TF1's noise run off by `noise`."""
    rng = np.random.default_rng(0)
    start = rng.normal(size=(4, 3)).astype(np.float32)
    step = rng.normal(size=(4, 3)).astype(np.float32) * 0.01
    loss1 = np.linspace(2.0, 1.0, STEPS)
    one = {"start/w": start, "state/0/global_step": np.int64(0)}
    two = {}
    noise_loss = loss1 * (1 + noise)
    loss2 = loss1 * (1 + drift * np.arange(1, STEPS + 1))
    if nan_from is not None:
        loss1, loss2 = loss1.copy(), loss2.copy()
        loss1[nan_from:] = np.nan
        loss2[nan_from:] = np.nan
    for t in range(EVERY, STEPS + 1, EVERY):
        w = start + t * step
        one[f"training_run/{t}/w"] = w
        one[f"noise/{t}/w"] = w + t * step * noise
        two[f"training_run/{t}/w"] = w + t * step * drift * t
    if drop:
        two = {k: v for k, v in two.items() if not k.endswith(f"/{drop}")}
    one["training_run/loss"], one["noise/loss"] = loss1, noise_loss
    two["training_run/loss"] = loss2
    tf1 = SideCheck("tf1", "training_run", "ok", file=save_arrays(str(tmp_path / "1.npz"), one),
                    meta={"seconds_per_step": 0.002, "noise_seconds_per_step": 0.003})
    tf2 = SideCheck("tf2", "training_run", "ok", file=save_arrays(str(tmp_path / "2.npz"), two),
                    meta={"seconds_per_step": 0.05})
    return tf1, tf2


def test_sides_that_differ_by_round_off_pass_with_their_margin(tmp_path):
    outcome = compare_training(*_runs(tmp_path, drift=1e-7), SETTINGS)
    assert outcome.verdict == "passed", outcome.message
    assert outcome.message.startswith("training_run: 40 steps inside the noise band (the loss "
                                      "every step, 1 variables and slots every 10); closest to "
                                      "it: ")
    assert outcome.margin is not None and 1 < outcome.margin < np.inf
    assert dict(outcome.series)["step"] == tuple(float(s) for s in range(1, STEPS + 1))
    assert "time per step: TF1 2 ms (its noise run 3 ms), TF2 50 ms" in outcome.detail


def test_a_defect_of_1e3_fails_at_the_first_step_it_shows(tmp_path):
    outcome = compare_training(*_runs(tmp_path, drift=1e-3), SETTINGS)
    assert outcome.verdict == "failed"
    # The loss's divergence is 1e-3 x step: past the band (1e-4 + 10 x 1e-6) at step 1.
    assert outcome.message.startswith("training_run: the sides leave the noise band at step 1 "
                                      "of 40: loss TF1 2, TF2 2.002 (divergence 0.001, 9.1x the "
                                      "band 0.00011); the variable that moved first: w (at step "
                                      "10: divergence 0.01, 91x its band 0.00011)"), outcome.message


def test_nan_on_both_sides_proves_nothing_and_never_passes(tmp_path):
    outcome = compare_training(*_runs(tmp_path, nan_from=5), SETTINGS)
    assert outcome.verdict == "failed" and outcome.cause == "vacuous"
    assert outcome.message == ("training_run: vacuous: the loss is not finite on both sides from "
                               "step 6, so nothing after it was proven. Hint: lower the learning "
                               "rate or the steps")


def _with_noise_run(tmp_path, tf1, name, change):
    """tf1 with a oneDNN-off noise run (meta `kernels`): the TF1 records, changed by `change`."""
    arrays = change(tf1.arrays())
    path = save_arrays(str(tmp_path / f"{name}.npz"), arrays)
    return SideCheck("tf1", "training_run", "ok", file=tf1.file,
                     meta={**tf1.meta, "kernels": path, "kernels_label": "the oneDNN-off run"})


def test_a_noise_run_widens_the_band_where_it_drifts_more_and_never_when_not_finite(tmp_path):
    tf1, tf2 = _runs(tmp_path, drift=2e-5)
    assert compare_training(tf1, tf2, SETTINGS).verdict == "failed"

    def drifted(arrays):      # 1e-5 a step relative to the loss and to how far w moved
        arrays["training_run/loss"] = arrays["training_run/loss"] * (1 + 1e-5 * np.arange(1, 41))
        for t in range(EVERY, STEPS + 1, EVERY):
            w = arrays[f"training_run/{t}/w"]
            arrays[f"training_run/{t}/w"] = w + (w - arrays["start/w"]) * 1e-5 * t
        return arrays
    wide = compare_training(_with_noise_run(tmp_path, tf1, "wide", drifted), tf2, SETTINGS)
    assert wide.verdict == "passed", wide.message
    assert "noise: the oneDNN-off run: largest relative drift " in wide.detail

    def blown(arrays):        # a noise run that overflowed measures nothing
        arrays["training_run/loss"] = np.full_like(arrays["training_run/loss"], np.nan)
        for t in range(EVERY, STEPS + 1, EVERY):
            arrays[f"training_run/{t}/w"] = np.full_like(arrays[f"training_run/{t}/w"], np.inf)
        return arrays
    nan = compare_training(_with_noise_run(tmp_path, tf1, "nan", blown), tf2, SETTINGS)
    assert nan.verdict == "failed", nan.message
    assert "(not finite at 44 records: not counted)" in nan.detail, nan.detail

    def elsewhere(arrays):    # started from other values: not noise, not counted
        arrays = drifted(arrays)
        arrays["start/w"] = arrays["start/w"] + 1.0
        return arrays
    moved = compare_training(_with_noise_run(tmp_path, tf1, "moved", elsewhere), tf2, SETTINGS)
    assert moved.verdict == "failed", moved.message
    assert ("noise: the oneDNN-off run: not counted: it started from other values than the TF1 "
            "run") in moved.detail


def test_a_variable_one_side_lacks_is_a_structure_failure(tmp_path):
    outcome = compare_training(*_runs(tmp_path, drop="w"), SETTINGS)
    assert outcome.verdict == "failed" and outcome.cause == "structure"
    assert outcome.message == ("training_run: structure differs: 1 variables or slots only in "
                               "TF1: w")


def test_the_bisection_window_starts_after_the_last_step_that_agreed(tmp_path):
    tf1, tf2 = _runs(tmp_path, drift=1e-7)
    assert window(tf1, tf2, SETTINGS) is None
    # A defect that shows only from step 25 on, in the variables.
    two = tf2.arrays()
    two["training_run/30/w"] = two["training_run/30/w"] + 1.0
    two["training_run/40/w"] = two["training_run/40/w"] + 1.0
    late = SideCheck("tf2", "training_run", "ok",
                     file=save_arrays(str(tmp_path / "late.npz"), two))
    assert window(tf1, late, SETTINGS) == (21, 30)


def test_a_sparkline_draws_linear_and_log_values():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([1e-8, 1e-6, 1e-4], log=True) == "▁▅█"
    assert sparkline([0.0, 1e-3], log=True) == "▁█"


# ---- the reports -------------------------------------------------------------------------------

def _trained_report(tmp_path) -> Report:
    outcome = compare_training(*_runs(tmp_path, drift=1e-3), SETTINGS)
    case = CaseResult("equiv_t.py", "net", "training_run", outcome.verdict, outcome.message,
                      detail=outcome.detail, series=outcome.series, words=outcome.words)
    return Report((PairResult("equiv_t.py", "net", (case,)),), 1.0)


def test_the_curves_travel_in_the_junit_report_and_reach_every_picture(tmp_path):
    report = _trained_report(tmp_path)
    path = str(tmp_path / "r.xml")
    junit.write(report, path)
    (read,) = read_junit(path).cases
    assert read.series == report.cases[0].series
    summary = github.summary(read_junit(path))
    assert "### Training runs" in summary and summary.count("xychart-beta") == 2
    assert 'title "net: divergence of the sides and the noise band (log10)"' in summary
    svg = html.training_svg(read)
    assert svg.count('<svg class="training"') == 2
    assert "leaves the band at step 1" in svg
    page = html.to_html(read_junit(path))
    assert page.count('<svg class="training"') == 2


def test_the_verdict_reads_a_run_one_record_at_a_time(tmp_path):
    """A run's records (every variable at every recorded step, on both sides and in the noise run)
    need not fit in memory: 250 MB of records are judged with a fraction of that held at once."""
    import tracemalloc

    steps, every, size = 40, 2, 1_000_000          # 20 recorded steps of a 4 MB variable
    rng = np.random.default_rng(0)
    start = rng.normal(size=size).astype(np.float32)
    move = rng.normal(size=size).astype(np.float32) * 0.01
    loss = np.linspace(2.0, 1.0, steps)

    def records(noise: bool):
        yield "start/w", start
        for t in range(every, steps + 1, every):
            yield f"training_run/{t}/w", start + t * move
            if noise:
                yield f"noise/{t}/w", start + t * move * (1 + 1e-6)
        yield "training_run/loss", loss
        if noise:
            yield "noise/loss", loss * (1 + 1e-7)

    path1 = save_stream(str(tmp_path / "1.npz"), records(True))
    path2 = save_stream(str(tmp_path / "2.npz"),
                        ((k, v) for k, v in records(False) if not k.startswith("start/")))
    on_disk = os.path.getsize(path1) + os.path.getsize(path2)
    settings = {**SETTINGS, "train": {**SETTINGS["train"], "steps": steps, "every": every}}
    tracemalloc.start()
    try:
        outcome = compare_training(SideCheck("tf1", "training_run", "ok", file=path1),
                                   SideCheck("tf2", "training_run", "ok", file=path2), settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome.verdict == "passed", outcome.message
    assert on_disk > 240e6
    assert peak < on_disk / 4, (peak, on_disk)


# ---- the steps run from TF1's state decide a run that left its band -----------------------------

def _left_the_band(tmp_path):
    """A failed training_run case (the free runs left the band at step 1) and its sides' runs."""
    tf1, tf2 = _runs(tmp_path, drift=1e-3)
    outcome = compare_training(tf1, tf2, SETTINGS)
    case = CaseResult("equiv_t.py", "net", "training_run", outcome.verdict, outcome.message,
                      detail=outcome.detail, series=outcome.series, words=outcome.words)
    return case, tf1, tf2


def test_a_run_that_leaves_the_band_while_every_step_agrees_passes_saying_so(tmp_path):
    case, _, _ = _left_the_band(tmp_path)
    assert case.verdict == "failed"
    steps = Steps(found={"wrong": 0, "first": 1, "last": 40, "floor": 1e-4, "unpaired": [],
                         "worst": {"step": 7, "record": "w", "divergence": 2e-6, "band": 1e-4}},
                  seconds=1.5)
    judged = judge_steps(case, 1, 40, steps)
    assert judged.verdict == "passed", judged.message
    assert judged.message == (
        "training_run: every step agrees within its own noise: steps 1 to 40, each run on both "
        "sides from TF1's state (closest: w at step 7, divergence 2e-06 against a band of "
        "0.0001, margin 50x)")
    assert judged.margin == pytest.approx(50)
    (warning,) = judged.warnings
    assert warning.startswith("training_run: the free runs part by round-off that training "
                              "amplifies: the sides leave the noise band at step 1 of 40: "), warning
    assert warning.endswith("; yet each of steps 1 to 40, run on both sides from TF1's state, "
                            "agrees within that step's noise, so this is not a migration bug")
    assert "step by step from TF1's state (1.5 s):\n  steps 1..40 re-run from TF1's state each; " \
           "none differs" in judged.detail
    assert judged.explanation == "" and judged.series == case.series
    # Where the free runs agreed up to a recorded step, the message says so too.
    later = judge_steps(case, 11, 40, replace(steps, found={**steps.found, "first": 11}))
    assert later.message.endswith("; steps 1 to 10 inside the noise band of the free runs")


def test_a_run_whose_step_differs_fails_where_it_left_the_band_naming_the_step(tmp_path):
    case, _, _ = _left_the_band(tmp_path)
    steps = Steps(found={"wrong": 3, "record": "w", "divergence": 0.02, "band": 1e-4,
                         "loss": [1.5, 1.5], "first": 1, "floor": 1e-4, "unpaired": []},
                  seconds=0.5)
    judged = judge_steps(case, 1, 40, steps)
    assert judged.verdict == "failed"
    assert judged.message.startswith(case.message + ". Explanation: step 3 is wrong: run on "
                                     "both sides from TF1's state after step 2, one step "
                                     "already differs at w (divergence 0.02, that step's noise "
                                     "band 0.0001); loss TF1 1.5, TF2 1.5; likely a migration "
                                     "bug in what one step computes. Hint: "), judged.message
    assert judged.explanation.startswith("Explanation: step 3 is wrong")
    assert "steps 1..3 re-run from TF1's state each; step 3 differs first" in judged.detail
    assert not judged.warnings


def test_a_run_whose_steps_could_not_run_fails_saying_why_it_was_not_confirmed(tmp_path):
    case, _, _ = _left_the_band(tmp_path)
    judged = judge_steps(case, 1, 40, Steps(problem="steps 1 to 40 timed out after 30 s",
                                            hint="raise the pair's timeout", seconds=30.0))
    assert judged.verdict == "failed"
    assert judged.message == (
        f"{case.message}. Explanation: not confirmed step by step (each step run again on both "
        "sides from TF1's state tells a wrong step from round-off that training amplified): "
        "steps 1 to 40 timed out after 30 s. Hint: raise the pair's timeout")
    assert "step by step from TF1's state (30.0 s):\n  not run: steps 1 to 40 timed out" \
        in judged.detail


#: The facts each side's worker sends of TF1's RMSPropOptimizer(0.01) and Keras's RMSprop(0.01).
RMSPROP = ({"api": "tf1", "class": "RMSPropOptimizer", "kind": "rmsprop", "learning_rate": 0.01,
            "epsilon": 1e-10, "rho": 0.9, "momentum": 0.0, "centered": False,
            "initial_accumulator": 1.0},
           {"api": "keras", "class": "RMSprop", "kind": "rmsprop", "learning_rate": 0.01,
            "epsilon": 1e-7, "rho": 0.9, "momentum": 0.0, "centered": False,
            "initial_accumulator": 0.0})
NAMED = ("the optimizers differ: TF1's RMSPropOptimizer starts its mean square (slot rms) at 1, "
         "Keras's RMSprop its velocity at 0, which no argument changes")


def _optimizer_case(tmp_path, facts):
    """A training_run failure as judge.py makes it, each side having sent `facts`."""
    tf1, tf2 = _runs(tmp_path, drift=1e-3)
    found = {"tf1": replace(tf1, meta={**tf1.meta, "optimizer": facts[0]}),
             "tf2": replace(tf2, meta={**tf2.meta, "optimizer": facts[1]})}
    outcome = compare_check("training_run", found, SETTINGS)
    return CaseResult("equiv_t.py", "net", "training_run", outcome.verdict, outcome.message,
                      detail=outcome.detail, hint=outcome.hint, words=outcome.words,
                      statement=outcome.statement or outcome.words)


def test_a_failing_training_run_names_how_its_optimizers_differ_once(tmp_path):
    case = _optimizer_case(tmp_path, RMSPROP)
    assert case.verdict == "failed"
    assert case.message.startswith("training_run: the sides leave the noise band at step 1 of "
                                   "40: "), case.message
    assert f". Hint: {NAMED}" in case.message, case.message
    # The steps name step 3: the named difference is the hint of that finding, said once.
    wrong = Steps(found={"wrong": 3, "record": "w", "divergence": 0.02, "band": 1e-4,
                         "loss": [1.5, 1.5], "first": 1, "floor": 1e-4, "unpaired": []})
    judged = judge_steps(case, 1, 40, wrong)
    assert judged.message.startswith(f"training_run: {case.statement}. Explanation: step 3 is "
                                     "wrong: "), judged.message
    assert f"likely a migration bug in what one step computes. Hint: {NAMED}" in judged.message
    assert judged.message.count("the optimizers differ") == 1, judged.message
    assert judged.next_step.startswith(NAMED) and "compare the two sides'" not in judged.message
    # Steps that all agree clear the verdict, and the difference with it: it changed nothing here.
    agree = Steps(found={"wrong": 0, "first": 1, "last": 40, "floor": 1e-4, "unpaired": [],
                         "worst": {"step": 7, "record": "w", "divergence": 2e-6, "band": 1e-4}})
    passed = judge_steps(case, 1, 40, agree)
    assert passed.verdict == "passed" and not passed.hint
    assert "optimizers differ" not in passed.message + "".join(passed.warnings)


def test_a_training_run_of_optimizers_alike_keeps_the_settings_to_compare(tmp_path):
    case = _optimizer_case(tmp_path, (RMSPROP[0], {**RMSPROP[0], "api": "keras",
                                                   "class": "RMSprop"}))
    assert "Hint:" not in case.message, case.message
    judged = judge_steps(case, 1, 40, Steps(found={"wrong": 3, "record": "w", "divergence": 0.02,
                                                   "band": 1e-4, "loss": [1.5, 1.5], "first": 1,
                                                   "floor": 1e-4, "unpaired": []}))
    assert judged.message.endswith(". Hint: compare the two sides' optimizer settings (learning "
                                   "rate and its schedule's step count, epsilon, momentum), "
                                   "batch-norm momentum and regularization losses")


def _side_run(side, check, settings=None, transfer=None):
    events = [(0.0, PairSettings(settings))] if settings else []
    events += [(0.1, transfer)] if transfer else []
    return SideRun(side, events=events + [(1.0, check), (2.0, Done())])


def test_against_stored_records_a_run_that_left_the_band_fails_saying_why(tmp_path):
    """Stored TF1 records stand for another TensorFlow: the steps are not run against them, and
    the failure says so (and how to confirm it)."""
    case, tf1, tf2 = _left_the_band(tmp_path)
    settings = {**SETTINGS, "checks": [["training_run", None]]}
    runs = {"tf1": _side_run("tf1", tf1, settings, Transfer(file="t.npz", batches="b.npz")),
            "tf2": _side_run("tf2", tf2, settings)}
    spec = SideSpec("equiv_t.py", "net", ("training_run",), str(tmp_path), 60.0,
                    RunOptions(threads=1))
    result = PairResult("equiv_t.py", "net", (case,))
    confirmed = confirm_training(result, spec, runs, threading.Event(), 60.0, str(tmp_path),
                                 stored=True)
    (judged,) = confirmed.cases
    assert judged.verdict == "failed"
    assert judged.message.endswith(
        ": the steps run both sides in one process under this TensorFlow, so they are not run "
        "against stored TF1 records. Hint: check without --against to tell a wrong step from "
        "amplified round-off"), judged.message
    # A run that stayed inside its band is left as it is: nothing to confirm.
    inside = replace(case, verdict="passed")
    assert confirm_training(replace(result, cases=(inside,)), spec, runs, threading.Event(), 60.0,
                            str(tmp_path), stored=True).cases == (inside,)
