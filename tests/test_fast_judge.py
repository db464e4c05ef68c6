"""The judge's branches and the worker protocol, fed events by hand: no TensorFlow, no worker."""

import json

import numpy as np
import pytest

from tf_equiv.run import protocol
from tf_equiv.run.protocol import Done, Environment, Fatal, PairSettings, ProtocolError, Transfer
from tf_equiv.run.records import SideCheck, save_arrays
from tf_equiv.run.sides import SideRun
from tf_equiv.verdict.judge import EarlyComparisons, judge

PLAN = [("constant_inference", None), ("gradients", None)]


def settings(**extra):
    return PairSettings({"rtol": 1e-6, "atol": 1e-5, "tolerances": {}, "line": 7,
                         "checks": [list(c) for c in PLAN], **extra})


def records(tmp_path, side, check, arrays, **meta):
    path = save_arrays(str(tmp_path / f"{side}-{check}.npz"), arrays)
    return SideCheck(side, check, "ok", file=path, order=tuple(arrays), meta=meta)


def side(name, *events, finished=True, **kw):
    timed = [(float(i), e) for i, e in enumerate(events)]
    return SideRun(name, events=timed + ([(99.0, Done())] if finished else []), **kw)


def both(tmp_path, tf1_out, tf2_out, **pair):
    """Runs whose two checks compare `outputs` (constant_inference) and a gradient."""
    made = {}
    for name, out in (("tf1", tf1_out), ("tf2", tf2_out)):
        made[name] = side(
            name, Environment({"tensorflow": "2.21.0"}, ["fix"]), settings(**pair),
            records(tmp_path, name, "constant_inference", {"outputs": out}),
            records(tmp_path, name, "gradients", {"gradients/w": np.array([1.0, 2.0])}))
    return made


def verdicts(result):
    return {c.check: (c.verdict, c.message) for c in result.cases}


def test_equal_records_pass_and_a_difference_fails_with_its_numbers(tmp_path):
    ok = judge("equiv_m.py", "p", 1, PLAN, both(tmp_path, np.ones(3), np.ones(3)))
    assert {c: v for c, (v, _) in verdicts(ok).items()} == {"constant_inference": "passed",
                                                           "gradients": "passed"}
    bad = judge("equiv_m.py", "p", 1, PLAN, both(tmp_path, np.ones(3), np.ones(3) * 1.01))
    verdict, message = verdicts(bad)["constant_inference"]
    assert verdict == "failed"
    assert "outputs: max abs diff 0.01" in message
    assert bad.cases[0].line == 7          # the worker's line of the Pair


def test_nan_on_both_sides_is_not_a_pass(tmp_path):
    result = judge("equiv_m.py", "p", 1, PLAN, both(tmp_path, np.full(3, np.nan), np.full(3, np.nan)))
    assert verdicts(result)["constant_inference"][0] == "failed"


def test_a_forward_check_that_compared_no_output_is_vacuous(tmp_path):
    runs = both(tmp_path, np.ones(3), np.ones(3))
    for name in runs:      # the forward pass returned nothing but its regularization loss
        runs[name].events[2] = (2.0, records(tmp_path, name, "constant_inference",
                                             {"regularization_loss": np.float32(0)}))
    verdict, message = verdicts(judge("equiv_m.py", "p", 1, PLAN, runs))["constant_inference"]
    assert verdict == "failed"
    assert "vacuous: compared no outputs, so nothing was proven" in message


def test_constant_records_pass_with_a_weak_comparison_warning(tmp_path):
    result = judge("equiv_m.py", "p", 1, PLAN, both(tmp_path, np.zeros(4), np.zeros(4)))
    case = result.cases[0]
    assert case.verdict == "passed"
    assert any("weak comparison" in w for w in case.warnings)


def test_a_fatal_side_errors_every_check_with_its_message(tmp_path):
    runs = both(tmp_path, np.ones(3), np.ones(3))
    runs["tf2"] = side("tf2", settings(), Fatal("inputs() raised ValueError: no data", "trace", 3))
    result = judge("equiv_m.py", "p", 1, PLAN, runs)
    assert {c.verdict for c in result.cases} == {"error"}
    assert all(c.message == "inputs() raised ValueError: no data" for c in result.cases)


def test_a_side_that_died_says_how(tmp_path):
    runs = both(tmp_path, np.ones(3), np.ones(3))
    runs["tf1"] = side("tf1", settings(), finished=False, returncode=-9)
    verdict, message = verdicts(judge("equiv_m.py", "p", 1, PLAN, runs))["gradients"]
    assert verdict == "error"
    assert message == "gradients: TF1 side was killed by SIGKILL (exit status -9)"
    runs["tf1"] = side("tf1", settings(), finished=False, timed_out=True, timeout=30)
    message = verdicts(judge("equiv_m.py", "p", 1, PLAN, runs))["gradients"][1]
    assert "TF1 side timed out after 30 s" in message


def test_a_timed_out_side_is_a_field_of_its_cases(tmp_path):
    """Explanations read it (a re-run that ran out of time), not the message's words."""
    runs = both(tmp_path, np.ones(3), np.ones(3))
    runs["tf1"] = side("tf1", settings(), finished=False, returncode=-9)
    assert not any(c.timed_out for c in judge("equiv_m.py", "p", 1, PLAN, runs).cases)
    runs["tf1"] = side("tf1", settings(), finished=False, timed_out=True, timeout=30)
    errors = [c for c in judge("equiv_m.py", "p", 1, PLAN, runs).cases if c.verdict == "error"]
    assert errors and all(c.timed_out for c in errors)


def test_a_side_finished_without_the_check(tmp_path):
    runs = both(tmp_path, np.ones(3), np.ones(3))
    runs["tf2"] = side("tf2", settings(), protocol_errors=["unknown event kind 'chekc'"])
    message = verdicts(judge("equiv_m.py", "p", 1, PLAN, runs))["constant_inference"][1]
    assert message.startswith("constant_inference: TF2 side finished without a result for "
                              "constant_inference; its worker sent 1 lines that are no event")


def test_a_side_error_and_skip_are_reported_as_the_side_said(tmp_path):
    runs = both(tmp_path, np.ones(3), np.ones(3))
    runs["tf2"].events[3] = (3.0, SideCheck("tf2", "gradients", "error", message="loss raised"))
    runs["tf2"].events[2] = (2.0, SideCheck("tf2", "constant_inference", "skipped",
                                            message="not a Keras layer"))
    found = verdicts(judge("equiv_m.py", "p", 1, PLAN, runs))
    assert found["gradients"] == ("error", "gradients: TF2 side: loss raised")
    assert found["constant_inference"] == ("skipped", "not a Keras layer")


def test_skip_xfail_and_xpass(tmp_path):
    skipped = judge("equiv_m.py", "p", 1, PLAN,
                    both(tmp_path, np.ones(3), np.ones(3), skip="not migrated yet"))
    assert {c.verdict for c in skipped.cases} == {"skipped"}
    assert skipped.cases[0].message == "not migrated yet"
    xfail = judge("equiv_m.py", "p", 1, PLAN,
                  both(tmp_path, np.ones(3), np.ones(3) * 2, xfail="known drift"))
    found = verdicts(xfail)
    assert found["constant_inference"][0] == "xfailed"
    assert found["constant_inference"][1].startswith("xfailed (known drift): ")
    assert found["gradients"][0] == "xpassed"


def test_bad_pair_settings_error_every_check(tmp_path):
    result = judge("equiv_m.py", "p", 1, PLAN, both(tmp_path, np.ones(3), np.ones(3),
                                                   problems=["rtol: expected a number"]))
    assert {c.message for c in result.cases} == {"bad Pair 'p': rtol: expected a number"}


def test_the_workers_plan_and_a_planned_skip(tmp_path):
    runs = both(tmp_path, np.ones(3), np.ones(3),
                checks=[["constant_inference", None], ["gradients", "needs Pair(loss=...)"]])
    found = verdicts(judge("equiv_m.py", "p", 1, PLAN, runs))
    assert found["gradients"] == ("skipped", "needs Pair(loss=...)")


def test_early_comparisons_are_the_verdicts(tmp_path):
    runs = both(tmp_path, np.ones(3), np.ones(3) * 2)
    early = EarlyComparisons()
    for name, run in runs.items():
        for _, event in run.events:
            early.on_event(name, event)
    outcomes = early.results()
    assert set(outcomes) == {"constant_inference", "gradients"}
    assert verdicts(judge("equiv_m.py", "p", 1, PLAN, runs, outcomes))["constant_inference"][0] \
        == "failed"


def feed(early, runs):
    for name, run in runs.items():
        for _, event in run.events:
            early.on_event(name, event)
    return early.results()


def files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_passing_checks_records_are_deleted_once_compared_a_failing_ones_kept(tmp_path):
    # Nothing reads a passing check's records again; an explanation and --artifacts read the
    # failing ones after the comparison.
    runs = both(tmp_path, np.ones(3), np.ones(3) * 2)
    outcomes = feed(EarlyComparisons(release=(str(tmp_path), [c for c, _ in PLAN])), runs)
    assert outcomes["gradients"].verdict == "passed"
    assert outcomes["constant_inference"].verdict == "failed"
    assert files(tmp_path) == ["tf1-constant_inference.npz", "tf2-constant_inference.npz"]
    # The verdicts are those of the comparisons made before the files went.
    found = verdicts(judge("equiv_m.py", "p", 1, PLAN, runs, outcomes))
    assert [found[c][0] for c in ("constant_inference", "gradients")] == ["failed", "passed"]


def test_records_outside_the_pairs_folder_are_never_deleted(tmp_path):
    # TF1 records stored by `tf-equiv record` and read by --against live in the user's folder.
    stored, own = tmp_path / "store", tmp_path / "pair"
    stored.mkdir()
    own.mkdir()
    runs = both(stored, np.ones(3), np.ones(3))
    runs["tf2"] = both(own, np.ones(3), np.ones(3))["tf2"]
    for name in files(own):
        if name.startswith("tf1-"):
            (own / name).unlink()
    feed(EarlyComparisons(release=(str(own), [c for c, _ in PLAN])), runs)
    assert files(stored) == ["tf1-constant_inference.npz", "tf1-gradients.npz",
                             "tf2-constant_inference.npz", "tf2-gradients.npz"]
    assert files(own) == []
    feed(EarlyComparisons(), both(own, np.ones(3), np.ones(3)))      # no folder given: kept
    assert len(files(own)) == 4


def test_a_tf1_record_read_by_two_checks_goes_when_both_passed(tmp_path):
    # functional_training[constant] is compared with TF1's random_training[constant].
    plan = ["random_training[constant]", "functional_training[constant]"]
    arrays = {"initial/w": np.ones(2), "outputs": np.ones(3)}
    tf1 = records(tmp_path, "tf1", plan[0], arrays)
    regime = records(tmp_path, "tf2", plan[0], arrays)
    functional = records(tmp_path, "tf2", plan[1], {**arrays, "outputs": np.ones(3) * 2})
    runs = {"tf1": side("tf1", settings(checks=[[c, None] for c in plan]), tf1),
            "tf2": side("tf2", settings(checks=[[c, None] for c in plan]), regime, functional)}
    outcomes = feed(EarlyComparisons(release=(str(tmp_path), plan)), runs)
    assert [outcomes[c].verdict for c in plan] == ["passed", "failed"]
    assert files(tmp_path) == ["tf1-random_training[constant].npz",
                               "tf2-functional_training[constant].npz"]
    runs = {"tf1": side("tf1", settings(checks=[[c, None] for c in plan]),
                        records(tmp_path, "tf1", plan[0], arrays)),
            "tf2": side("tf2", settings(checks=[[c, None] for c in plan]),
                        records(tmp_path, "tf2", plan[0], arrays),
                        records(tmp_path, "tf2", plan[1], arrays))}
    outcomes = feed(EarlyComparisons(release=(str(tmp_path), plan)), runs)
    assert [outcomes[c].verdict for c in plan] == ["passed", "passed"]
    assert files(tmp_path) == []


def test_environment_names_where_the_tf1_side_differs(tmp_path):
    runs = both(tmp_path, np.ones(3), np.ones(3))
    runs["tf1"].events[0] = (0.0, Environment({"tensorflow": "2.15.1"}, ["old_fix"]))
    result = judge("equiv_m.py", "p", 1, PLAN, runs)
    assert result.environment == {"tensorflow": "2.21.0", "tf1_tensorflow": "2.15.1"}
    assert result.compat_fixes == ("old_fix", "fix")


@pytest.mark.parametrize("event", [
    Environment({"tensorflow": "2.21.0"}, ["fix"]), protocol.ModulePairs([{"name": "p", "line": 3,
                                                                           "settings": {}}]),
    settings(), protocol.Inputs("ab12", "/tmp/inputs.npz"), Transfer(file="/t.npz", order=["w"]),
    Transfer(error="the TF1 side ended"), Fatal("boom", "trace", 4), Done(),
    SideCheck("tf1", "gradients", "ok", file="/g.npz", order=("gradients/w",), meta={"a": 1})])
def test_every_event_survives_the_pipe(event):
    assert protocol.decode(protocol.encode(event)) == event


def test_the_decoder_rejects_what_is_not_an_event():
    assert protocol.decode('{"type": "done"') is None            # torn by a crash
    with pytest.raises(ProtocolError, match="unknown event kind 'chekc'"):
        protocol.decode(json.dumps({"type": "chekc"}))
    with pytest.raises(ProtocolError, match="fatal event with unknown fields: mesage"):
        protocol.decode(json.dumps({"type": "fatal", "mesage": "x"}))
    with pytest.raises(ProtocolError, match="check event without side, status"):
        protocol.decode(json.dumps({"type": "check", "check": "gradients"}))
    with pytest.raises(ProtocolError, match="not an event"):
        protocol.decode("[1, 2]")


def test_records_named_like_savez_options_are_kept(tmp_path):
    # A top-level TF1 variable named `file` or `allow_pickle` is a record of that name.
    arrays = {"file": np.arange(3.0), "allow_pickle": np.ones(2), "outputs/x": np.zeros(1)}
    check = records(tmp_path, "tf1", "transferred_inference", arrays)
    loaded = check.arrays()
    assert list(loaded) == list(arrays)
    assert all(np.array_equal(loaded[k], v) for k, v in arrays.items())


def test_variables_match_of_a_model_without_variables_is_vacuous(tmp_path):
    plan = [("variables_match", None)]
    runs = {name: side(name, settings(checks=[["variables_match", None]]),
                       SideCheck(name, "variables_match", "ok", meta={"variables": []}))
            for name in ("tf1", "tf2")}
    case = judge("equiv_m.py", "p", 1, plan, runs).cases[0]
    assert case.verdict == "failed"
    assert case.cause == "vacuous"
    assert case.message.startswith(
        "variables_match: vacuous: neither side has a variable (TF1 global_variables() and TF2 "
        "model.variables are empty), so nothing was proven. Hint: ")
