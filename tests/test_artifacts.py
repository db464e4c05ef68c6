"""--artifacts: the arrays of failing records, the inputs, an index and a re-run command."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pytest
from conftest import FIXTURES, ROOT, check

from tf_equiv.diagnose import artifacts
from tf_equiv.results import CaseResult, PairResult
from tf_equiv.run.records import SideCheck, save_arrays
from tf_equiv.run.sides import SideRun
from tf_equiv.verdict.compare import compare_arrays


@pytest.mark.tensorflow
def test_failing_records_are_saved_with_a_rerun_command(tmp_path):
    folder = tmp_path / "artifacts"
    run = check(tmp_path, "tests/fixtures/equiv_drift.py", "--artifacts", str(folder))
    assert run.returncode == 1
    index = json.loads((folder / "index.json").read_text())
    assert index["format"] == "tf-equiv-artifacts" and index["max_bytes"] == 256 * 1024 * 1024
    by_check = {f["check"]: f for f in index["failures"]}
    assert sorted(by_check) == ["constant_inference", "tf_function", "transferred_inference"]
    entry = by_check["transferred_inference"]
    assert entry["id"] == "tests/fixtures/equiv_drift.py::drift::transferred_inference"
    assert entry["message"] == run.case(entry["id"]).message
    record = entry["records"][0]
    assert record["name"] == "outputs/logits" and record["saved"]
    with np.load(folder / record["file"]) as z:
        # The defect of the fixture: the TF2 side adds 1e-3 to the logits.
        np.testing.assert_allclose(z["tf2"] - z["tf1"], np.full((4, 4), 1e-3), atol=1e-6)
    with np.load(folder / entry["inputs"]) as z:
        assert z["inputs"].shape == (4, 6)
    assert entry["rerun"] == ("tf-equiv check tests/fixtures/equiv_drift.py --select "
                              f"drift::transferred_inference --artifacts {folder}")
    argv = shlex.split(entry["rerun"])
    again = subprocess.run([sys.executable, "-m", "tf_equiv", *argv[1:], "--no-explain"],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "1 failed" in again.stdout.splitlines()[-1]
    # The re-run replaced the pair's artifacts with its own.
    index = json.loads((folder / "index.json").read_text())
    assert [f["check"] for f in index["failures"]] == ["transferred_inference"]


def test_a_folder_of_the_users_is_never_written(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    run = check(tmp_path, os.path.join(FIXTURES, "equiv_drift.py"), "--artifacts", str(folder))
    assert run.returncode == 2
    assert (f"--artifacts {folder}: the folder is not empty and holds no tf-equiv index.json"
            in run.stderr)
    assert sorted(os.listdir(folder)) == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "keep me"


def test_arrays_past_the_size_cap_are_listed_not_saved(tmp_path):
    tf1 = np.zeros((4, 4), np.float32)
    tf2 = tf1 + 1.0
    found = {side: SideCheck(side, "transferred_inference", "ok", file=save_arrays(
        str(tmp_path / f"{side}.npz"), {"outputs": a}), order=("outputs",))
        for side, a in (("tf1", tf1), ("tf2", tf2))}
    record = compare_arrays("outputs", tf1, tf2, 1e-6, 1e-5)
    case = CaseResult("equiv_x.py", "p", "transferred_inference", "failed", "differs",
                      records=(record,))
    runs = {side: SideRun(side, events=[(0.0, found[side])]) for side in found}
    folder = str(tmp_path / "out")
    artifacts.prepare(folder)
    artifacts.save_pair(folder, PairResult("equiv_x.py", "p", (case,)), "equiv_x.py", runs,
                        artifacts.Budget(100))
    artifacts.finish(folder)
    saved = json.loads(open(os.path.join(folder, "index.json")).read())["failures"][0]
    assert saved["records"][0]["saved"] is False
    assert saved["records"][0]["note"] == ("not saved: the run's artifacts would exceed their "
                                          "cap of 100 bytes (128 bytes)")
