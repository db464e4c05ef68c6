"""A pair's files: its records, logs and explanation runs live in a folder of its own, which goes
when the pair is done; a passing check's records go as soon as both sides' are compared, while a
failing check's stay for its explanation and --artifacts. A run of hundreds of pairs then holds
the files of the pairs in flight, not those of every pair it has run."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from conftest import ROOT

from tf_equiv import engine
from tf_equiv.diagnose import artifacts

pytestmark = pytest.mark.tensorflow

MODULE = os.path.join(ROOT, "tests", "fixtures_truth", "equiv_activation.py")


def test_passing_records_go_when_compared_and_the_pairs_folder_when_it_is_done(tmp_path,
                                                                              monkeypatch):
    config = engine.Config(paths=(MODULE,), jobs=1, artifacts=str(tmp_path / "artifacts"))
    plan = engine.make_plan(config)
    workdir = tmp_path / "work"
    workdir.mkdir()
    explain = engine.explain
    before_explaining: dict = {}

    def watched(result, spec, runs, *args):
        # What the pair's folder holds once every check is judged, before any explanation runs.
        before_explaining[result.pair] = sorted(os.listdir(spec.out_dir))
        return explain(result, spec, runs, *args)

    monkeypatch.setattr(engine, "explain", watched)
    budget = artifacts.Budget()
    results = {}
    for planned in plan.pairs:
        result, runs = engine.run_pair(planned, config, str(workdir), 1, threading.Event(),
                                       budget=budget)
        results[planned.declared.name] = result
        # The pair's folder is gone, the explanation runs' folders with it; the events stay.
        assert os.listdir(workdir) == []
        assert runs["tf1"].events and runs["tf2"].events
    artifacts.finish(config.artifacts)

    passing = {c.check: c.verdict for c in results["passing"].cases}
    assert set(passing.values()) == {"passed"}, passing
    records = [n for n in before_explaining["passing"] if n.endswith(".npz")]
    # Every check's records went once compared; what is left is what TF2 read at the start.
    assert records == ["inputs.npz", "tf1-transfer.npz"], before_explaining["passing"]

    failing = {c.check: c for c in results["failing"].cases}
    failed = sorted(c for c, case in failing.items() if case.verdict == "failed")
    assert failed, {c: case.verdict for c, case in failing.items()}
    left = before_explaining["failing"]
    for check in failing:
        safe = check.replace("[", "_").replace("]", "")
        if check in failed:         # kept for the explanation and --artifacts
            assert f"tf2-{safe}.npz" in left, (check, left)
        elif failing[check].verdict == "passed":
            assert f"tf2-{safe}.npz" not in left, (check, left)
    # Both still read them: the failure is located, and its arrays are saved.
    constant = failing["constant_inference"]
    assert "b2/dense" in constant.message and "Sigmoid" in constant.message, constant.message
    saved = {name: os.path.join(folder, name) for folder, _, names in os.walk(config.artifacts)
             for name in names}
    assert "constant_inference.npz" in saved, saved
    with np.load(saved["constant_inference.npz"]) as arrays:
        sides = {name.split("/")[0] for name in arrays.files}
    assert {"tf1", "tf2"} <= sides, sides
