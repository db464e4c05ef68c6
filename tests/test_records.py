"""run/records.py: the records a side writes are read back exactly, at a cost per record that does
not grow with their number, and the comparison of a large record stays within a small multiple of
it. No TensorFlow here except the command test."""
from __future__ import annotations

import ast
import os
import tracemalloc
import zipfile

import numpy as np
import pytest
from conftest import ROOT, check

from tf_equiv.diagnose import artifacts
from tf_equiv.run.records import SideCheck, save_arrays
from tf_equiv.verdict.compare import compare_arrays
from tf_equiv.verdict.outcome import compare_check

SETTINGS = {"rtol": 1e-6, "atol": 1e-5, "tolerances": {}}


def _side(tmp_path, side: str, arrays: dict, order=None) -> SideCheck:
    path = save_arrays(str(tmp_path / f"{side}-constant_inference.npz"), arrays)
    return SideCheck(side, "constant_inference", "ok", file=path,
                     order=tuple(order if order is not None else arrays))


def test_strings_keep_every_byte_trailing_nuls_included(tmp_path):
    values = {"outputs/names": np.array([b"a\x00", b"b", b"", b"\x00"], dtype=object),
              "outputs/text": np.array([["x\x00", "y"]], dtype=object)}
    read = _side(tmp_path, "tf1", values).arrays()
    assert read["outputs/names"].tolist() == [b"a\x00", b"b", b"", b"\x00"]
    assert read["outputs/text"].tolist() == [["x\x00", "y"]]


def test_strings_differing_by_a_trailing_nul_fail_naming_the_record_and_values(tmp_path):
    tf1 = _side(tmp_path, "tf1", {"outputs/names": np.array([b"a\x00", b"b"], dtype=object)})
    tf2 = _side(tmp_path, "tf2", {"outputs/names": np.array([b"a", b"b"], dtype=object)})
    outcome = compare_check("constant_inference", {"tf1": tf1, "tf2": tf2}, SETTINGS)
    assert outcome.verdict == "failed"
    assert outcome.message == (
        "constant_inference: first divergence in forward order: outputs/names: values differ: "
        "1 of 2 elements (compared exactly); first at index (0,): TF1 b'a\\x00', TF2 b'a'")


def test_the_first_divergence_follows_forward_order_not_the_files(tmp_path):
    forward = [f"outputs/e{i:04d}" for i in range(3000)]
    stored = list(reversed(forward))           # each side wrote them in another order
    tf1 = {n: np.full((2, 3), float(i), np.float32) for i, n in enumerate(forward)}
    tf2 = dict(tf1)
    for n in ("outputs/e0100", "outputs/e2000"):
        tf2[n] = tf1[n] + 1
    one = _side(tmp_path, "tf1", {n: tf1[n] for n in stored}, order=forward)
    two = _side(tmp_path, "tf2", {n: tf2[n] for n in stored}, order=stored)
    outcome = compare_check("constant_inference", {"tf1": one, "tf2": two}, SETTINGS)
    assert outcome.message.startswith(
        "constant_inference: first divergence in forward order: outputs/e0100: max abs diff 1")
    assert "(+1 more records differ)" in outcome.message
    assert [r.name for r in outcome.records] == forward


def test_many_records_open_each_file_once_and_parse_each_header_once(tmp_path, monkeypatch):
    """The work per record is constant: no zip directory read again, no .npy header parsed again
    for records of one shape (numpy parses each header with ast.literal_eval)."""
    count = 2000
    arrays = {f"outputs/e{i:04d}": np.full((4, 8), i, np.float32) for i in range(count)}
    tf1, tf2 = _side(tmp_path, "tf1", arrays), _side(tmp_path, "tf2", arrays)
    opened, parsed = [], []
    real_zip, real_eval = zipfile.ZipFile.__init__, ast.literal_eval

    def counting_zip(self, file, *args, **kw):
        opened.append(str(getattr(file, "name", file)))
        real_zip(self, file, *args, **kw)

    def counting_eval(source):
        parsed.append(source)
        return real_eval(source)

    monkeypatch.setattr(zipfile.ZipFile, "__init__", counting_zip)
    monkeypatch.setattr(ast, "literal_eval", counting_eval)
    outcome = compare_check("constant_inference", {"tf1": tf1, "tf2": tf2}, SETTINGS)
    assert outcome.verdict == "passed"
    assert outcome.message.startswith(f"constant_inference: {count} records match")
    assert sorted(opened) == sorted([tf1.file, tf2.file])
    assert len(parsed) <= 1


def _large_pair(tmp_path, elements: int) -> tuple[SideCheck, SideCheck, int]:
    a = np.random.default_rng(0).normal(size=(elements // 64, 64)).astype(np.float32)
    b = a + np.float32(1)                      # every element differs
    size = a.nbytes
    return (_side(tmp_path, "tf1", {"outputs/big": a}),
            _side(tmp_path, "tf2", {"outputs/big": b}), size)


def test_a_failing_large_record_is_compared_within_twice_its_size_and_a_block(tmp_path):
    """Both sides' records in memory (2x), and the statistics in blocks: the old comparison took
    about 20x (float64 copies, differences, masks of the whole record). A block of fixed size
    besides."""
    tf1, tf2, size = _large_pair(tmp_path, 1 << 22)        # 16 MiB a side
    tracemalloc.start()
    try:
        outcome = compare_check("constant_inference", {"tf1": tf1, "tf2": tf2}, SETTINGS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome.verdict == "failed"
    assert "4194304 of 4194304 elements mismatched" in outcome.message
    assert peak < 2 * size + 16 * 2 ** 20, f"peak {peak / size:.1f}x the record"


def test_the_statistics_of_a_large_record_take_a_bounded_block(tmp_path):
    a = np.random.default_rng(1).normal(size=(1 << 21, 8)).astype(np.float32)
    b = a + np.float32(0.5)
    tracemalloc.start()
    try:
        record = compare_arrays("outputs/big", a, b, 1e-6, 1e-5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not record and record.mismatched == a.size and len(record.channels) == 8
    assert peak < a.nbytes // 4, f"peak {peak / a.nbytes:.2f}x the record"


def test_the_artifacts_of_a_large_failing_record_stay_within_twice_it_and_a_block(tmp_path):
    tf1, tf2, size = _large_pair(tmp_path, 1 << 22)
    outcome = compare_check("constant_inference", {"tf1": tf1, "tf2": tf2}, SETTINGS)
    first = next(r for r in outcome.records if not r)
    folder = tmp_path / "artifacts"
    folder.mkdir()
    tracemalloc.start()
    try:
        info = artifacts._save_record(str(folder), "constant_inference", first,
                                      {"tf1": tf1, "tf2": tf2}, artifacts.Budget(), str(folder))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info["saved"] and info["bytes"] == 2 * size
    assert peak < 2 * size + 16 * 2 ** 20, f"peak {peak / size:.1f}x the record"
    with np.load(os.path.join(folder, info["file"]), allow_pickle=False) as saved:
        assert np.array_equal(saved["tf2"], SideCheck("tf2", "c", "ok", file=tf2.file)
                              .arrays()["outputs/big"])


@pytest.mark.tensorflow
def test_a_trailing_nul_byte_fails_constant_inference_naming_the_record(tmp_path):
    run = check(tmp_path, "equiv_nul_bytes.py", cwd=os.path.join(ROOT, "tests", "fixtures_records"))
    case = run.case("equiv_nul_bytes.py::trailing_nul::constant_inference")
    assert case.verdict == "failed"
    assert ("constant_inference: first divergence in forward order: outputs/names: values "
            "differ: 1 of 2 elements (compared exactly); first at index (0,): TF1 b'a\\x00', "
            "TF2 b'a'") in case.message
    assert run.case("equiv_nul_bytes.py::same_nuls::constant_inference").verdict == "passed"
    assert run.returncode == 1
