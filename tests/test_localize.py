"""localize: the first divergent op inside the graph, and shadow mode's verdict on its block."""
from __future__ import annotations

import os
import re
import time

import numpy as np
import pytest
from conftest import ROOT, check, tf_equiv

from tf_equiv.diagnose.localize import describe, localize
from tf_equiv.report import html
from tf_equiv.results import CaseResult, PairResult, diagnosis
from tf_equiv.worker.alignment import align, block_of, culprit, stats

FIXTURES = os.path.join(ROOT, "tests", "fixtures_localize")
BLOCKS = os.path.join(FIXTURES, "equiv_blocks.py")


@pytest.mark.tensorflow
def test_a_wrong_block_is_named_and_blamed(tmp_path):
    result = localize(BLOCKS, "wrong_block", "transferred_inference", str(tmp_path), 300)
    assert result.found, result
    assert result.message.startswith(
        "first divergent op in topological order: net/block2/LeakyRelu (LeakyRelu), max abs diff ")
    assert "; 9 of 13 aligned ops matched before it; " in result.message
    assert ("shadow: fed TF1's values of the 1 tensor entering net/block2 (net/block1/mul), "
            "net/block2/LeakyRelu still differs") in result.message
    assert result.message.endswith(": this block is wrong"), result.message
    assert "Hint" not in result.message        # nothing differed before the divergent op
    assert result.block == "net/block2"
    assert "13 of 13 TF1 ops aligned with TF2 ops (TF2 name prefix 'migrated')" in result.detail
    # Only the first divergence's arrays stay on disk.
    with np.load(tmp_path / "first-divergence.npz") as z:
        assert z["tf1"].shape == z["tf2"].shape == (2, 8, 8, 16)
        assert not np.allclose(z["tf1"], z["tf2"])
    assert not os.path.exists(tmp_path / "tf1")


@pytest.mark.tensorflow
def test_an_early_difference_amplified_downstream_is_told_from_a_wrong_block(tmp_path):
    """block1's epsilon differs by 4e-6: within tolerance there, amplified past it by block2's
    large weights. block2 computes correctly, and shadow mode says so."""
    result = localize(BLOCKS, "early_epsilon", "transferred_inference", str(tmp_path), 300)
    assert result.found, result
    assert result.message.startswith(
        "first divergent op in topological order: net/block2/conv/Conv2D (Conv2D), ")
    assert ("shadow: fed TF1's values of the 1 tensor entering net/block2 (net/block1/mul), "
            "net/block2/conv/Conv2D then matches (bitwise equal): errors accumulated upstream of "
            "net/block2 (the block agrees when fed TF1's input)") in result.message
    assert ". Hint: the earliest op that differs at all is net/block1/add (AddV2, max abs diff " \
        "3.99e-06, within tolerance)" in result.message
    assert "ok      net/block1/mul (Mul) max abs diff" in result.detail
    # The block to fix is the one where the difference starts, not the one that amplifies it.
    assert result.place == ("net/block2/conv/Conv2D (Conv2D); errors accumulated upstream of "
                            "net/block2 (the earliest op that differs at all is net/block1/add)")
    assert result.block == "net/block1"


@pytest.mark.tensorflow
def test_an_op_only_tf2_has_after_every_aligned_op_is_named(tmp_path):
    result = localize(BLOCKS, "offset_logits", "transferred_inference", str(tmp_path), 300)
    assert result.found, result
    assert result.message.startswith(
        "first divergent op in topological order: add (AddV2, TF2 only), which computes "
        "outputs/logits: max abs diff 0.001, "), result.message
    assert result.message.endswith(
        "all 13 aligned ops matched, TF1's outputs/logits being net/block3/logits/BiasAdd; TF2 "
        "computes it from there through ops TF1 lacks: add; shadow: not needed: the tensors those "
        "ops read agree with TF1, so they are wrong"), result.message
    assert result.place.endswith("; the ops TF1 lacks are wrong (what they read agrees with TF1)")
    assert result.block == ""           # `add` lies outside every block


@pytest.mark.tensorflow
def test_a_faithful_migration_has_no_divergent_op(tmp_path):
    result = localize(BLOCKS, "faithful", "constant_inference", str(tmp_path), 300)
    assert not result.found
    assert result.message.startswith(
        "no divergent op: 13 of 13 aligned ops agree within tolerance in the traced TF2 graph; "
        "0 TF1 ops and 0 TF2 ops have no counterpart of the same name. Hint: where "
        "constant_inference fails, the difference comes from outside the aligned ops"), \
        result.message
    assert "weights: constant;" in result.detail


@pytest.mark.tensorflow
def test_localization_gives_up_at_its_timeout(tmp_path):
    started = time.monotonic()
    result = localize(os.path.join(FIXTURES, "equiv_sleepy.py"), "sleepy",
                      "transferred_inference", str(tmp_path), 8)
    assert time.monotonic() - started < 8 + 5
    assert not result.found
    assert result.message.startswith(
        "localization of sleepy::transferred_inference timed out after 8 s and its workers were "
        "killed."), result.message


@pytest.mark.tensorflow
def test_a_side_that_cannot_run_is_reported_not_raised(tmp_path):
    result = localize(BLOCKS, "missing", "transferred_inference", str(tmp_path), 300)
    assert not result.found
    assert result.message == ("localization failed: missing is not a tf_equiv.Pair in "
                              "equiv_blocks.py"), result.message


def test_checks_with_other_weights_are_not_localized(tmp_path):
    result = localize(BLOCKS, "wrong_block", "random_training[constant]", str(tmp_path), 300)
    assert not result.found
    assert result.message.startswith(
        "localization is not available for random_training[constant]: it applies to the checks "
        "constant_inference, transferred_inference, ")
    assert os.listdir(tmp_path) == []


def test_ops_align_by_the_keras_layer_prefix():
    prefix, ops = align(["net/a/MatMul", "net/a/Relu", "net/b/MatMul"],
                        ["migrated/net/a/MatMul", "migrated/net/a/Elu", "migrated/net/b/MatMul",
                         "net/b/MatMul"])
    assert prefix == "migrated"
    assert ops == {"net/a/MatMul": "migrated/net/a/MatMul", "net/b/MatMul": "migrated/net/b/MatMul"}
    assert align(["a"], ["a", "x/a"])[0] == ""      # the shortest prefix wins a tie


def test_a_block_is_the_child_of_the_scope_with_the_most_sub_scopes():
    inception = ["InceptionV3/InceptionV3/Conv2d_1a_3x3/Conv2D",
                 "InceptionV3/InceptionV3/Conv2d_2a_3x3/Conv2D",
                 "InceptionV3/InceptionV3/MaxPool_3a_3x3/MaxPool",
                 "InceptionV3/InceptionV3/Mixed_6c/Branch_1/Conv2d_0b_1x7/Conv2D",
                 "InceptionV3/InceptionV3/Mixed_6c/Branch_2/Conv2d_0a_1x1/Conv2D",
                 "InceptionV3/InceptionV3/Mixed_6c/concat",
                 "InceptionV3/InceptionV3/Mixed_7a/Branch_0/Conv2d_1a_3x3/Conv2D",
                 "InceptionV3/Logits/Conv2d_1c_1x1/Conv2D", "InceptionV3/Predictions/Softmax"]
    assert block_of(inception[3], inception) == "InceptionV3/InceptionV3/Mixed_6c"
    assert block_of("net/block2/conv/Conv2D", ["net/block1/conv/Conv2D", "net/block1/mul",
                                                 "net/block2/conv/Conv2D", "net/block2/LeakyRelu",
                                                 "net/block3/logits/MatMul"]) == "net/block2"
    assert block_of("Relu", ["MatMul", "Relu", "MatMul_1"]) == "Relu"
    assert block_of("net/Relu", ["net/MatMul", "net/Relu"]) == "net/Relu"


def test_stats_leave_non_finite_elements_out():
    s = stats(np.array([1.0, 3.0, np.inf, np.nan], np.float32))
    assert (s["mean"], s["min"], s["max"], s["nonfinite"]) == (2.0, 1.0, 3.0, 2)


def _result(**first: object) -> dict:
    comparison = {"passed": False, "max_abs": 0.5, "max_rel": 1.0, "mismatched": 3, "total": 4,
                  "rtol": 1e-6, "atol": 1e-5, "problem": "", "note": ""}
    comparison.update(first.pop("comparison", {}))
    return {"weights": "constant", "prefix": "m", "tf1_ops": 5, "aligned": 4, "compared": 3,
            "capped": False, "computed": 5, "tf1_only": 1, "tf2_only": 1,
            "tf1_only_names": ["net/b/Relu"],
            "tf2_only_names": ["net/b/Elu"], "around": [], "earliest": None, "arrays": "",
            "first": {"op": "net/b/MatMul", "tensor": "net/b/MatMul:0", "type": "MatMul",
                      "tf2_type": "MatMul", "position": 2, "comparison": comparison,
                      "tf1_stats": stats(np.ones(2)), "tf2_stats": stats(np.ones(2)),
                      "tf2_only_inputs": ["net/b/Elu"], **first},
            "shadow": {"block": "net/b", "op": "net/b/MatMul", "status": "unavailable",
                       "reason": "net/b/Relu enters net/b but TF2 has no tensor of that name to "
                                 "feed"}}


def test_a_non_finite_op_is_a_vacuous_divergence_and_renamed_ops_are_named():
    nonfinite = {"problem": "nonfinite", "note": "non-finite on both sides (TF1: inf in 4 of 4 "
                 "elements; TF2: inf in 4 of 4 elements)"}
    result = describe(_result(comparison=nonfinite), "constant_inference")
    assert result.found
    assert result.message == (
        "first divergent op in topological order: net/b/MatMul (MatMul), vacuous: non-finite on "
        "both sides (TF1: inf in 4 of 4 elements; TF2: inf in 4 of 4 elements); 2 of 4 aligned "
        "ops matched before it; in TF2 it reads ops TF1 lacks: net/b/Elu; shadow: not run: "
        "net/b/Relu enters net/b but TF2 has no tensor of that name to feed. Hint: a comparison "
        "of non-finite values proves nothing; fix the overflow or localize "
        "transferred_inference, which runs at real weights")
    assert "1 TF1 ops and 1 TF2 ops have no counterpart of the same name: net/b/Relu, net/b/Elu" \
        in result.detail
    other = describe(_result(tf2_type="BatchMatMulV2"), "constant_inference")
    assert "net/b/MatMul (MatMul in TF1, BatchMatMulV2 in TF2), max abs diff 0.5" in other.message


def test_a_capture_cut_short_by_its_size_limit_says_so():
    result = {**_result(), "first": None, "capped": True, "computed": 40}
    message = describe(result, "transferred_inference").message
    assert message == ("no divergent op among the first 5 of 40 TF1 ops: their capture stopped at "
                       "the 512 MiB limit; 3 aligned ops agree within tolerance. Hint: the "
                       "divergence is further on, past what localization keeps on disk")


# --- the block to fix ---------------------------------------------------------------------------

#: Pair of equiv_culprits.py -> (where the sides part, the block the diagnosis sends the user to).
CULPRITS = {
    "activation_outside_layer": (
        "b3/fc/MatMul (MatMul), computed in TF2 through b2/Sigmoid where TF1 has b2/Tanh", "b2"),
    "changed_mid_block": (
        "b1/mul (Mul), computed in TF2 through b1/Sigmoid where TF1 has b1/Tanh; block b1 is "
        "wrong (it differs when fed TF1's input)", "b1"),
    "added_at_boundary": ("b2/fc/MatMul (MatMul), computed in TF2 through b1/add", "b1"),
    "dropped_at_boundary": (
        "b2/fc/MatMul (MatMul), computed in TF1 through b1/add, which TF2 lacks", "b1"),
}


@pytest.fixture(scope="module")
def culprits_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("culprits")
    page = str(folder / "report.html")
    return check(folder, "equiv_culprits.py", "--html", page, cwd=FIXTURES, explain=True), \
        folder


def _said(text: str, pair: str) -> str:
    """One pair's diagnosis in a terminal's DIAGNOSIS section."""
    section = text.split(" DIAGNOSIS ", 1)[1].split(" FAILURES ", 1)[0]
    return section.split(f"equiv_culprits.py::{pair}: ", 1)[1].split("equiv_culprits.py::")[0]


@pytest.mark.tensorflow
@pytest.mark.parametrize("pair", sorted(CULPRITS))
def test_the_diagnosis_sends_the_user_to_the_block_holding_the_op_that_differs(culprits_run,
                                                                              pair):
    run, folder = culprits_run
    where, block = CULPRITS[pair]
    next_step = f"next: fix block {block} of the migrated code"
    case = run.case(f"equiv_culprits.py::{pair}::transferred_inference")
    assert case.verdict == "failed"
    assert "Explanation: the graphs differ where the sides part" in case.message, case.message
    # The JUnit body, the terminal and the HTML page say the same place and block.
    assert f"  where: {where}\n  {next_step}" in case.text, case.text
    assert f"where: {where}\n" in _said(run.stdout, pair) and next_step in _said(run.stdout, pair)
    page = (folder / "report.html").read_text()
    at = page.index('id="' + html.anchor("pair", f"equiv_culprits.py::{pair}") + '"')
    assert re.search(r"<p>where: ([^<]*)</p>", page[at:]).group(1) == \
        where.replace("'", "&#x27;")
    assert re.search(r"<p>next: ([^<]*)</p>", page[at:]).group(1) == next_step[6:]
    # And so does a report made again from the JUnit file.
    merged = tf_equiv("merge", str(folder / "report.xml"), cwd=str(folder))
    assert f"where: {where}\n" in _said(merged.stdout, pair), merged.stdout
    assert next_step in _said(merged.stdout, pair)


def _first(op: str, **more: object) -> dict:
    return {"op": op, "tf2_only_inputs": [], "tf1_only_inputs": [], **more}


BLOCK_OPS = [f"b{i}/{op}" for i in range(4) for op in ("fc/MatMul", "fc/BiasAdd", "Relu")]


def test_the_block_to_fix_holds_the_op_one_side_lacks_not_the_first_divergent_op():
    unavailable = {"status": "unavailable"}
    swapped = _first("b3/fc/MatMul", tf2_only_inputs=["b2/Sigmoid"], tf1_only_inputs=["b2/Tanh"])
    assert culprit(swapped, unavailable, None, BLOCK_OPS) == {"op": "b2/Sigmoid", "block": "b2"}
    dropped = _first("b2/fc/MatMul", tf1_only_inputs=["b1/add"])
    assert culprit(dropped, unavailable, None, BLOCK_OPS) == {"op": "b1/add", "block": "b1"}
    # Inside an outer scope the block is the scope's child, never the outer scope itself.
    nested = ["net/" + op for op in BLOCK_OPS]
    assert culprit(_first("net/b3/fc/MatMul", tf2_only_inputs=["net/b2/Sigmoid"]), unavailable,
                   None, nested)["block"] == "net/b2"
    # An op outside every block: no block to name.
    assert culprit(_first("b2/fc/MatMul", tf2_only_inputs=["mul"]), unavailable, None,
                   BLOCK_OPS) == {"op": "mul", "block": ""}
    # Nothing lacking: the op itself differs (a wrong block, or a changed op type)...
    differs = {"status": "differs", "block": "b2"}
    assert culprit(_first("b2/Relu"), differs, None, BLOCK_OPS)["block"] == "b2"
    # ...unless shadow mode blames what entered its block: then the earliest op that differs.
    matches = {"status": "matches", "block": "b2"}
    assert culprit(_first("b2/fc/MatMul"), matches, {"op": "b0/Relu"}, BLOCK_OPS) == \
        {"op": "b0/Relu", "block": "b0"}


def test_the_diagnosis_names_the_block_localization_found_not_the_place_s_first_scope():
    place = "b3/fc/MatMul (MatMul), computed in TF2 through b2/Sigmoid where TF1 has b2/Tanh"
    result = {**_result(), "first": _first(
        "b3/fc/MatMul", tensor="b3/fc/MatMul:0", type="MatMul", tf2_type="MatMul", position=8,
        comparison=_result()["first"]["comparison"], tf1_stats=stats(np.ones(2)),
        tf2_stats=stats(np.ones(2)), tf2_only_inputs=["b2/Sigmoid"], tf1_only_inputs=["b2/Tanh"]),
        "culprit": {"op": "b2/Sigmoid", "block": "b2"}}
    located = describe(result, "transferred_inference")
    assert (located.place, located.block) == (place, "b2")
    assert located.structural == "TF2 computes b3/fc/MatMul through ops TF1 lacks (b2/Sigmoid)"
    explanation = "Explanation: the graphs differ where the sides part; likely a migration bug"
    cases = tuple(CaseResult("equiv_m.py", "p", c, "failed", f"{c}: outputs differ",
                             explanation=explanation, place=place, block=located.block)
                  for c in ("constant_inference", "transferred_inference"))
    (cause,) = diagnosis(PairResult("equiv_m.py", "p", cases))
    assert (cause.place, cause.next_step) == (place, "fix block b2 of the migrated code")
    # A place without a block found for it (outside every block) sends the user to the place.
    unblocked = CaseResult("equiv_m.py", "p", "transferred_inference", "failed", "differs",
                           explanation=explanation, place=place)
    (cause,) = diagnosis(PairResult("equiv_m.py", "p", (unblocked,)))
    assert cause.next_step == "fix the migrated code where the sides part"


def test_an_op_tf2_adds_past_every_aligned_op_is_blamed_itself():
    first = _first("add", tensor="net/logits/BiasAdd:0", type="AddV2", tf2_type="AddV2",
                   record="outputs/logits", tf1_op="net/logits/BiasAdd", position=4,
                   comparison=_result()["first"]["comparison"], tf1_stats=stats(np.ones(2)),
                   tf2_stats=stats(np.ones(2)), tf2_only_inputs=["add"])
    shadow = {"status": "tf2_only", "block": "", "op": "add"}
    located = describe({**_result(), "first": first, "shadow": shadow,
                        "culprit": culprit(first, shadow, None,
                                           ["net/a/MatMul", "net/logits/MatMul"])},
                       "transferred_inference")
    assert located.place == ("add (AddV2), computed in TF2 through add; the ops TF1 lacks are "
                             "wrong (what they read agrees with TF1)")
    assert located.block == ""
