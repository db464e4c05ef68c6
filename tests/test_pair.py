"""Pair: validation never raises, names the field and what was expected."""
from __future__ import annotations

import tf_equiv
from tf_equiv.pair import tolerance_for


def f(x, training):
    return x


def test_valid_pair_has_no_problems_and_records_its_line():
    pair = tf_equiv.Pair(f, object, [1.0])
    assert pair.problems == ()
    assert pair.declared_at[0] == __file__ and pair.declared_at[1] > 0


def test_wrong_fields_are_named():
    pair = tf_equiv.Pair(tf1=None, tf2=object, inputs=[1.0], atol=-1, checks=["gradientz"],
                         tolerances={"gradients/*": (1e-4,)}, train_steps=0)
    assert "tf1: expected a function (inputs, training) -> outputs, got None" in pair.problems
    assert "atol: expected a non-negative number, got -1" in pair.problems
    assert any(p.startswith("checks: 'gradientz' matches no check id") for p in pair.problems)
    assert "tolerances: entry 'gradients/*': expected a glob mapped to (rtol, atol), got (0.0001,)" \
        in pair.problems
    assert "train_steps: expected a positive integer, got 0" in pair.problems


def test_unknown_and_positional_fields():
    pair = tf_equiv.Pair(f, object, [1.0], 1e-3, tolerence={})
    assert pair.problems[0].startswith("takes 3 positional fields (tf1, tf2, inputs), got 4")
    assert "tolerence: not a Pair field (did you mean 'tolerances'?)" in pair.problems


def test_tolerance_first_matching_glob_wins():
    tols = {"gradients/*": (1e-4, 1e-4), "gradients/a/*": (1, 1)}
    assert tolerance_for("gradients/a/kernel", tols, 1e-6, 1e-5) == (1e-4, 1e-4)
    assert tolerance_for("outputs/0", tols, 1e-6, 1e-5) == (1e-6, 1e-5)


def test_import_is_light():
    import subprocess
    import sys
    code = "import sys, tf_equiv; print('tensorflow' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_gradients_and_optimizer_steps_have_their_own_defaults():
    assert tolerance_for("gradients/dense/kernel", {}, 1e-6, 1e-5) == (1e-4, 1e-5)
    assert tolerance_for("optimizer_steps/1/dense/kernel", {}, 1e-6, 1e-5) == (1e-5, 1e-5)
    assert tolerance_for("outputs/logits", {}, 1e-6, 1e-5) == (1e-6, 1e-5)
    # The pair's own looser tolerance is never tightened; a glob overrides the table.
    assert tolerance_for("gradients/dense/kernel", {}, 1e-3, 1e-5) == (1e-3, 1e-5)
    assert tolerance_for("gradients/dense/kernel", {"gradients/*": (0.0, 0.0)}, 1e-6, 1e-5) \
        == (0.0, 0.0)


def test_a_checks_field_that_selects_nothing_names_the_field_and_what_was_expected():
    def problems(checks):
        return tf_equiv.Pair(f, object, [1.0], checks=checks).problems

    assert problems(["constant_inferense"]) == (
        "checks: 'constant_inferense' matches no check id (did you mean 'constant_inference'?)",)
    assert problems("constant_inference") == (
        "checks: expected a sequence of check ids or globs, got the string "
        "'constant_inference'; write checks=['constant_inference']",)
    assert problems([]) == (
        "checks: expected at least one check id or glob, got an empty sequence, which runs "
        "nothing; leave checks out to run every check that applies",)
    assert problems([1]) == ("checks: expected a sequence of check ids or globs, got [1]",)
    # One unknown entry beside known ones is still an error; with nothing close, the known ids.
    (message,) = problems(["gradients", "nope*"])
    assert message.startswith("checks: 'nope*' matches no check id (known: "
                              "variables_created_once, variables_match, ")
    assert problems(["gradients", "random_*"]) == ()
