"""--artifacts never mixes two pairs' files, never removes or writes through what it did not
write, and refuses a folder holding anything its index does not list. No TensorFlow here."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tf_equiv.diagnose import artifacts
from tf_equiv.errors import UsageError
from tf_equiv.results import CaseResult, PairResult
from tf_equiv.run.records import SideCheck, save_arrays
from tf_equiv.run.sides import SideRun
from tf_equiv.verdict.compare import compare_arrays


def _failing_pair(tmp_path, module: str, pair: str = "p") -> tuple:
    """A failed transferred_inference of `module::pair`, with both sides' records on disk."""
    tf1 = np.zeros((2, 2), np.float32)
    found = {side: SideCheck(side, "transferred_inference", "ok", file=save_arrays(
        str(tmp_path / f"{side}-{abs(hash((module, pair)))}.npz"), {"outputs": a}),
        order=("outputs",)) for side, a in (("tf1", tf1), ("tf2", tf1 + 1))}
    case = CaseResult(module, pair, "transferred_inference", "failed", "differs",
                      records=(compare_arrays("outputs", tf1, tf1 + 1, 1e-6, 1e-5),))
    runs = {side: SideRun(side, events=[(0.0, found[side])]) for side in found}
    return PairResult(module, pair, (case,)), runs


def _save(tmp_path, folder: str, module: str, pair: str = "p") -> None:
    result, runs = _failing_pair(tmp_path, module, pair)
    artifacts.save_pair(folder, result, module, runs, artifacts.Budget())


@pytest.mark.parametrize("modules", [("mods/a/b/equiv_m.py", "mods/a_b/equiv_m.py"),
                                     ("equiv_ü.py", "equiv_é.py")])
def test_pairs_whose_names_read_alike_get_their_own_artifacts(tmp_path, modules):
    folder = str(tmp_path / "out")
    artifacts.prepare(folder)
    for module in modules:
        _save(tmp_path, folder, module)
    artifacts.finish(folder)
    index = json.load(open(os.path.join(folder, "index.json")))
    assert sorted(f["module"] for f in index["failures"]) == sorted(modules)
    files = {f["records"][0]["file"] for f in index["failures"]}
    assert len(files) == 2 and all(os.path.exists(os.path.join(folder, f)) for f in files)


def test_a_rerun_removes_only_what_the_index_lists(tmp_path):
    folder = str(tmp_path / "out")
    artifacts.prepare(folder)
    _save(tmp_path, folder, "equiv_m.py")
    artifacts.finish(folder)
    entry = json.load(open(os.path.join(folder, "index.json")))["failures"][0]
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    # A link put where tf-equiv writes its arrays: replaced, never written or deleted through.
    record = os.path.join(folder, entry["records"][0]["file"])
    os.unlink(record)
    os.symlink(outside, record)
    artifacts.prepare(folder)
    _save(tmp_path, folder, "equiv_m.py")
    assert outside.read_text() == "keep me"
    assert not os.path.islink(record) and np.load(record)["tf2"].shape == (2, 2)


def test_a_users_file_beside_the_artifacts_is_refused(tmp_path):
    folder = str(tmp_path / "out")
    artifacts.prepare(folder)
    _save(tmp_path, folder, "equiv_m.py")
    artifacts.finish(folder)
    entry = json.load(open(os.path.join(folder, "index.json")))["failures"][0]
    mine = os.path.join(folder, entry["folder"], "notes.txt")
    with open(mine, "w") as f:
        f.write("mine")
    with pytest.raises(UsageError, match=r"holds .*notes\.txt, which its index\.json does not "
                                         r"list"):
        artifacts.prepare(folder)
    with open(os.path.join(folder, "other.txt"), "w") as f:
        f.write("mine")
    os.unlink(mine)
    with pytest.raises(UsageError, match="other.txt"):
        artifacts.prepare(folder)
    assert open(os.path.join(folder, "other.txt")).read() == "mine"


def test_a_pair_folder_that_is_a_link_is_never_followed(tmp_path):
    folder = str(tmp_path / "out")
    artifacts.prepare(folder)
    _save(tmp_path, folder, "equiv_m.py")
    artifacts.finish(folder)
    entry = json.load(open(os.path.join(folder, "index.json")))["failures"][0]
    pair_dir = os.path.join(folder, entry["folder"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pair.json").write_text("theirs")
    for name in os.listdir(pair_dir):
        os.unlink(os.path.join(pair_dir, name))
    os.rmdir(pair_dir)
    os.symlink(elsewhere, pair_dir)
    _save(tmp_path, folder, "equiv_m.py")
    assert (elsewhere / "pair.json").read_text() == "theirs"
    assert not os.path.islink(pair_dir) and os.path.isdir(pair_dir)
