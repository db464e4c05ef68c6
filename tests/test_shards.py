"""--shard: a stable partition of pairs, balanced by a timings file when there is one."""
from __future__ import annotations

import json

import pytest
from conftest import tf_equiv

from tf_equiv.plan.shards import assign_shards


def test_without_timings_the_partition_is_a_stable_hash():
    ids = [f"equiv_{i}.py::p" for i in range(40)]
    first = assign_shards(ids, 4, {})
    assert first == assign_shards(list(reversed(ids)), 4, {})
    assert set(first.values()) == {1, 2, 3, 4}


def test_timings_balance_the_shards():
    timings = {"a": 100.0, "b": 60.0, "c": 50.0, "d": 40.0, "e": 10.0}
    shards = assign_shards(list(timings), 2, timings)
    loads = {1: 0.0, 2: 0.0}
    for pair, shard in shards.items():
        loads[shard] += timings[pair]
    # Longest first to the least loaded: a | b, c | a, d | b, c, e.
    assert shards == {"a": 1, "b": 2, "c": 2, "d": 1, "e": 2}
    assert sorted(loads.values()) == [120.0, 140.0]
    # A pair without a timing counts as the median and still lands somewhere, deterministically.
    more = assign_shards([*timings, "new"], 2, timings)
    assert more == assign_shards(["new", *reversed(list(timings))], 2, timings)


def test_list_uses_the_timings_file(tmp_path):
    path = tmp_path / "timings.json"
    ids = ["tests/fixtures/equiv_good.py::good", "tests/fixtures/equiv_drift.py::drift",
           "tests/fixtures/equiv_nan.py::nan"]
    path.write_text(json.dumps({ids[0]: 30.0, ids[1]: 20.0, ids[2]: 12.0}))
    args = ["tests/fixtures/equiv_good.py", "tests/fixtures/equiv_drift.py",
            "tests/fixtures/equiv_nan.py", "--timings", str(path)]
    one = tf_equiv("list", *args, "--shard", "1/2").stdout
    two = tf_equiv("list", *args, "--shard", "2/2").stdout
    assert "equiv_good.py::good::" in one and "equiv_good.py::good::" not in two
    assert "equiv_drift.py::drift::" in two and "equiv_nan.py::nan::" in two


@pytest.mark.tensorflow
def test_check_writes_durations_to_the_timings_file(tmp_path):
    path = tmp_path / "timings.json"
    path.write_text(json.dumps({"kept::pair": 1.5}))
    proc = tf_equiv("check", "tests/fixtures/equiv_good.py", "--select", "variables_match",
                    "--timings", str(path))
    assert proc.returncode == 0, proc.stdout
    timings = json.loads(path.read_text())
    assert timings["kept::pair"] == 1.5
    assert timings["tests/fixtures/equiv_good.py::good"] > 0


@pytest.mark.tensorflow
def test_shards_run_separately_then_merge_into_one_report(tmp_path):
    mods = ["tests/fixtures/equiv_good.py", "tests/fixtures/equiv_renamed.py"]
    reports = []
    for i in (1, 2):
        report = str(tmp_path / f"shard-{i}.xml")
        proc = tf_equiv("check", *mods, "--select", "variables_match", "--shard", f"{i}/2",
                        "--junit-xml", report)
        assert proc.returncode in (0, 1), proc.stderr
        reports.append(report)
    merged = str(tmp_path / "all.xml")
    proc = tf_equiv("merge", *reports, "--junit-xml", merged)
    assert proc.returncode == 1
    assert "FAILED: variables_match: 4 variables only in TF2" in proc.stdout
    assert "2 passed, 1 failed in" in proc.stdout and "(summed over 2 reports)" in proc.stdout
    from conftest import read_junit
    cases, _ = read_junit(merged)
    assert {k: c.verdict for k, c in cases.items()} == {
        "tests/fixtures/equiv_good.py::good::variables_match": "passed",
        "tests/fixtures/equiv_renamed.py::renamed::variables_match": "failed",
        "tests/fixtures/equiv_renamed.py::renamed_mapped::variables_match": "passed"}
    again = tf_equiv("merge", reports[0], reports[0])
    assert again.returncode == 2
