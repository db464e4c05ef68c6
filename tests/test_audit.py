"""The randomness audit: a failing random_* check names the random ops each side created under
DeterministicRandomTestTool, those the tool cannot align, and where the sides' draws part ways."""
from __future__ import annotations

import os

import pytest
from conftest import ROOT, check

from tf_equiv.verdict.randomness import random_ops_note

FIXTURES_AUDIT = os.path.join(ROOT, "tests", "fixtures_audit")


@pytest.fixture(scope="module")
def audit_run(tmp_path_factory):
    return check(tmp_path_factory.mktemp("audit"), ".", "--select", "random_*",
                 "--select", "transferred_inference", cwd=FIXTURES_AUDIT)


@pytest.mark.tensorflow
def test_seeded_keras_initializer_is_named_as_unaligned(audit_run):
    verdicts = audit_run.verdicts("equiv_unaligned.py::seeded_keras_initializer")
    assert verdicts["transferred_inference"] == "passed"
    case = audit_run.case(
        "equiv_unaligned.py::seeded_keras_initializer::random_inference[constant]")
    assert case.verdict == "failed"
    assert ("Random ops: TF1 2 (RandomUniform x2 at encoder/hidden/kernel/Initializer/"
            "random_uniform, encoder/logits/kernel/Initializer/random_uniform); TF2 2 "
            "(StatelessRandomUniformV2 x2 at encoder/hidden/kernel, encoder/logits/kernel)"
            in case.message)
    assert ("Not aligned by DeterministicRandomTestTool, which seeds only the stateful ops that "
            "ask tf.random for a seed: TF2 StatelessRandomUniformV2 (6, 16) at "
            "encoder/hidden/kernel from tf.keras.initializers.GlorotUniform (_models.py:10)"
            in case.message)
    # The audit's facts come first, then the moments hint it confirms.
    assert case.message.index("Not aligned by") < case.message.index("Hint: same distribution")
    assert "cannot align" in case.message.split("Hint: ")[1]


@pytest.mark.tensorflow
def test_generator_draw_is_named_and_the_op_seeds_it_shifts(audit_run):
    constant = audit_run.case("equiv_unaligned.py::generator::random_training[constant]")
    assert constant.verdict == "failed"
    assert "TF2 StatelessRandomUniformV2 (4, 16) at" in constant.message
    assert "from tf.random.Generator (equiv_unaligned.py:22)" in constant.message
    assert "Hint: where TF1 draws with a stateful op, draw with one too" in constant.message
    ops = audit_run.case("equiv_unaligned.py::generator::random_training[num_random_ops]")
    assert ops.verdict == "failed"
    assert ("In num_random_ops mode draw 3 (RandomUniform (16, 4) at encoder/logits/kernel/"
            "Initializer/random_uniform (_models.py:13)) gets op seed 2 on TF1 but 1 on TF2"
            in ops.message)
    # initial/encoder/logits/kernel diverges because its seed moved, not because of its initializer.
    assert "different draws: the shifted op seeds explain them" in ops.message
    assert "likely draws random numbers" not in ops.message


@pytest.mark.tensorflow
def test_extra_draw_says_the_counts_differ(audit_run):
    verdicts = audit_run.verdicts("equiv_extra_draw.py::extra_draw")
    assert verdicts == {"transferred_inference": "passed",
                        "random_inference[num_random_ops]": "failed",
                        "random_inference[constant]": "passed",
                        "random_training[num_random_ops]": "failed",
                        "random_training[constant]": "passed"}
    case = audit_run.case("equiv_extra_draw.py::extra_draw::random_inference[num_random_ops]")
    assert "Random ops: TF1 2 (RandomUniform x2 at" in case.message
    assert "TF2 3 (RandomStandardNormal x1 at" in case.message
    assert ("TF2 creates 1 more random op; the sides' random ops part ways at draw 1: TF1 "
            "RandomUniform (6, 16) at encoder/hidden/kernel/Initializer/random_uniform "
            "(_models.py:10), TF2 RandomStandardNormal (4, 6) at" in case.message)
    assert "(equiv_extra_draw.py:10): in num_random_ops mode an op's seed is its position among " \
        "the ops the tool seeds" in case.message
    assert "Not aligned by" not in case.message
    assert "different draws: the shifted op seeds explain them" in case.message


@pytest.mark.tensorflow
def test_passing_random_checks_carry_no_audit(audit_run):
    case = audit_run.case("equiv_extra_draw.py::extra_draw::random_training[constant]")
    assert case.verdict == "passed" and case.message == ""


def _audit(*draws: tuple, unseeded: int = 0) -> dict:
    return {"random_ops": {"draws": [
        {"type": t, "name": n, "shape": list(s), "site": "", "source": "",
         "seeded": not t.startswith("Stateless")} for t, n, s in draws],
        "count": len(draws), "unseeded": unseeded}}


def test_lined_up_draws_clear_the_random_numbers():
    side = _audit(("RandomUniform", "dense/kernel", (6, 3)), ("RandomUniform", "dropout", (4, 3)))
    text, shifted = random_ops_note("random_training[num_random_ops]", side, side, "")
    assert text.endswith("Every one is seeded by DeterministicRandomTestTool and they line up "
                         "between the sides, so the random numbers themselves should agree")
    assert not shifted and "Hint" not in text


def test_a_changed_op_at_the_same_draw_is_not_a_shift():
    tf1 = _audit(("RandomUniform", "dense/kernel/Initializer/random_uniform", (6, 3)))
    tf2 = _audit(("TruncatedNormal", "dense/kernel", (6, 3)))
    text, shifted = random_ops_note("random_inference[num_random_ops]", tf1, tf2, "dense/kernel")
    assert "Draw 1 is another op: TF1 RandomUniform (6, 3) at dense/kernel/Initializer/" \
        "random_uniform, TF2 TruncatedNormal (6, 3) at dense/kernel" in text
    assert not shifted and "part ways" not in text


def test_stored_records_without_an_audit_leave_the_message_alone():
    assert random_ops_note("random_inference[constant]", {}, {}, "") == ("", False)
    text, _ = random_ops_note("random_inference[constant]", {},
                              _audit(("StatelessRandomNormalV2", "noise", (2,)), unseeded=1), "")
    assert text.startswith("Random ops: TF2 1 (StatelessRandomNormalV2 x1 at noise)")
    assert "TF2 StatelessRandomNormalV2 (2,) at noise" in text and "part ways" not in text
