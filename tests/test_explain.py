"""Explanations: failed checks re-run with oneDNN off, and grappler passes off where graphs are
optimized; correct migrations whose TF1 graph folds constants pass by default."""
from __future__ import annotations

import os

import pytest
from conftest import ROOT, check

pytestmark = pytest.mark.tensorflow

FIXTURES = os.path.join(ROOT, "tests", "fixtures_explain")
TRANSFERRED = "transferred_inference"


@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    """Every explanation fixture, run once with explanations on."""
    return check(tmp_path_factory.mktemp("explain"), ".", cwd=FIXTURES, explain=True)


def test_constant_folding_does_not_fail_a_correct_migration(explained):
    # The eager TF2 side runs op by op; so does the TF1 graph it is compared with.
    case = explained.case(f"equiv_folding.py::folding::{TRANSFERRED}")
    assert case.verdict == "passed", case.message
    # And the report says how each side's graphs ran.
    props = {p.name: p.value for suite in explained.xml for p in suite.properties()}
    assert props["environment.grappler"] == "none (eager); on for tf_function"
    assert props["environment.tf1_grappler"] == \
        "off (meta-optimizer disabled, as the eager TF2 side runs); on for tf_function"


def test_with_tf1_optimizations_constant_folding_is_named_as_the_cause(tmp_path):
    run = check(tmp_path, "equiv_folding.py", "--tf1-optimized", cwd=FIXTURES, explain=True)
    case = run.case(f"equiv_folding.py::folding::{TRANSFERRED}")
    assert case.verdict == "failed"
    assert case.message.startswith(f"{TRANSFERRED}: first divergence in forward order: outputs:")
    assert (". Explanation: passes with grappler arithmetic_optimization and constant_folding "
            "off: graph-rewrite numerics of the optimized graphs, not a migration bug. Hint: the "
            "other checks compare like with like; run with --grappler-off arithmetic_optimization "
            "--grappler-off constant_folding, or set a tolerance of rtol=") in case.message
    assert "with grappler arithmetic_optimization and constant_folding off: passes" in case.text


def test_grappler_off_for_the_whole_run_passes(tmp_path):
    run = check(tmp_path, "equiv_folding.py", "--tf1-optimized", "--grappler-off",
                "arithmetic_optimization", "--grappler-off", "constant_folding", cwd=FIXTURES)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.case(f"equiv_folding.py::folding::{TRANSFERRED}").verdict == "passed"
    props = {p.name: p.value for suite in run.xml for p in suite.properties()}
    assert props["environment.grappler_off"] == "arithmetic_optimization,constant_folding"
    assert props["environment.tf1_grappler"] == \
        "on in every check, without arithmetic_optimization, constant_folding"


def test_a_migration_bug_is_not_explained_away(explained):
    case = explained.case(f"equiv_scaled.py::other_factor::{TRANSFERRED}")
    assert case.verdict == "failed"
    assert (". Explanation: still fails with oneDNN off (TF_ENABLE_ONEDNN_OPTS=0); the TF1 "
            "graph unoptimized, like the eager TF2 side: not graph rewrites or kernel numerics; "
            "likely a migration bug. ") in case.message
    # Then placed inside the graph: the same op, another number.
    assert ("Localization: first divergent op in topological order: mul (Mul), max abs diff "
            "1.14") in case.message
    assert case.message.endswith("mul still differs (max abs diff 1.14, max rel diff 0.5, 24 "
                                 "of 24 elements mismatched): this block is wrong")
    assert "CPU vs GPU: not compared (no GPU on this machine)" in case.text


def test_where_the_graphs_differ_no_numeric_variation_is_run(explained):
    """An op only TF2 has, found by the one localization of the pair: oneDNN off cannot make
    the sides agree, and no re-run is paid for it."""
    case = explained.case(f"equiv_scaled.py::scaled_pair::{TRANSFERRED}")
    assert case.verdict == "failed"
    assert (". Explanation: the graphs differ where the sides part (TF2 computes outputs through "
            "ops TF1 lacks (mul)): no numeric variation changes which ops run, so none was tried; "
            "likely a migration bug. ") in case.message
    assert "oneDNN" not in case.message and "oneDNN" not in case.text
    assert ("Localization: first divergent op in topological order: mul (Mul, TF2 only), which "
            "computes outputs: max abs diff 1.14") in case.message
    assert case.message.endswith("shadow: not needed: the tensors those ops read agree with TF1, "
                                 "so they are wrong")
    assert "numeric variations: not run: TF2 computes outputs through ops TF1 lacks" in case.text


def test_the_explanation_respects_the_timeout(explained):
    case = explained.case(f"equiv_scaled.py::slow_explanation::{TRANSFERRED}")
    # The check's own verdict stands; the explanation says what it could not finish.
    assert case.verdict == "failed"
    assert ". Explanation: inconclusive (" in case.message
    assert ("with oneDNN off (TF_ENABLE_ONEDNN_OPTS=0): timed out (the explanation is bounded by "
            "the pair's timeout, 40 s)") in case.message
    explanation = case.text.split("explanation (", 1)[1]
    assert float(explanation.split(" s)", 1)[0]) < 40 + 10
