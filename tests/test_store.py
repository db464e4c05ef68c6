"""Stored TF1 records: `record`, `check --against`, staleness, and a real older TensorFlow."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from conftest import FIXTURES, ROOT, check, tf_equiv

from tf_equiv.report.read_junit import read_junit

LEGACY_PYTHON = os.path.join(ROOT, ".venv-tf2.15", "bin", "python")


def _copy(tmp_path, *names, folder=FIXTURES):
    work = tmp_path / "mods"
    work.mkdir(exist_ok=True)
    for helper in ("_models.py", "_inception.py"):
        shutil.copy(os.path.join(FIXTURES, helper), work)
    for name in names:
        shutil.copy(os.path.join(folder, name), work)
    return str(work)


@pytest.mark.tensorflow
def test_record_then_check_against(tmp_path):
    work = _copy(tmp_path, "equiv_good.py", "equiv_drift.py")
    store = str(tmp_path / "records")
    recorded = tf_equiv("record", ".", "--side", "tf1", "--out", store, cwd=work)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "] equiv_drift.py::drift  3 passed" in recorded.stdout
    with open(os.path.join(store, "manifest.json")) as f:
        manifest = json.load(f)
    assert manifest["format"] == "tf-equiv-records" and manifest["format_version"] == 1
    assert manifest["environment"]["tensorflow"] == "2.21.0"
    entry = manifest["pairs"]["equiv_good.py::good"]
    assert len(entry["source_sha256"]) == 64 and len(entry["inputs_sha256"]) == 64
    npz = [f for f in os.listdir(os.path.join(store, entry["folder"])) if f.endswith(".npz")]
    assert "tf1-transfer.npz" in npz and "tf1-random_training_constant.npz" in npz

    run = check(tmp_path, ".", "--against", store, cwd=work)
    assert run.returncode == 1
    assert set(run.verdicts("equiv_good.py::good").values()) == {"passed"}
    drift = run.case("equiv_drift.py::drift::transferred_inference")
    assert drift.verdict == "failed"
    assert "first divergence in forward order: outputs/logits: max abs diff 0.001" in drift.message


@pytest.mark.tensorflow
def test_stale_source_is_reported_not_used(tmp_path):
    work = _copy(tmp_path, "equiv_good.py")
    store = str(tmp_path / "records")
    assert tf_equiv("record", ".", "--side", "tf1", "--out", store, "--select", "variables_match",
                    cwd=work).returncode == 0
    with open(os.path.join(work, "equiv_good.py"), "a") as f:
        f.write("# edited after recording\n")
    run = check(tmp_path, ".", "--against", store, "--select", "variables_match", cwd=work)
    case = run.case("equiv_good.py::good::variables_match")
    assert case.verdict == "error"
    assert "stale TF1 records: equiv_good.py changed since it was recorded" in case.message


@pytest.mark.tensorflow
def test_stale_inputs_are_reported(tmp_path):
    work = _copy(tmp_path, "equiv_scaled.py", folder=os.path.join(ROOT, "tests", "fixtures_store"))
    store = str(tmp_path / "records")
    env = dict(os.environ, TF_EQUIV_TEST_SCALE="1")
    assert tf_equiv("record", ".", "--side", "tf1", "--out", store, cwd=work, env=env).returncode == 0
    same = tf_equiv("check", ".", "--against", store, cwd=work, env=env)
    assert same.returncode == 0, same.stdout
    env["TF_EQUIV_TEST_SCALE"] = "2"
    other = tf_equiv("check", ".", "--against", store, cwd=work, env=env)
    assert other.returncode == 1
    assert "stale TF1 records: the inputs differ from the recorded ones" in other.stdout


def test_against_a_folder_without_records_is_a_usage_error(tmp_path):
    proc = tf_equiv("check", "tests/fixtures/equiv_good.py", "--against", str(tmp_path))
    assert proc.returncode == 2
    assert f"no records in {tmp_path}: manifest.json not found" in proc.stderr


@pytest.mark.skipif(os.environ.get("TF_EQUIV_CROSS_VERSION") != "1",
                    reason="set TF_EQUIV_CROSS_VERSION=1 (and run .ci/setup-legacy) to record "
                           "with TensorFlow 2.15.1")
@pytest.mark.tensorflow
def test_tf1_recorded_with_tensorflow_2_15_against_tf2_on_2_21(tmp_path):
    assert os.path.exists(LEGACY_PYTHON), "run .ci/setup-legacy first"
    version = subprocess.run([LEGACY_PYTHON, "-c", "import tensorflow as tf; print(tf.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    assert version == "2.15.1"
    work = _copy(tmp_path, "equiv_inception_cross_version.py",
                 folder=os.path.join(ROOT, "tests", "fixtures_store"))
    store = str(tmp_path / "records")
    recorded = tf_equiv("record", ".", "--side", "tf1", "--out", store, "--python", LEGACY_PYTHON,
                        cwd=work)
    assert recorded.returncode == 0, recorded.stdout[-3000:]
    with open(os.path.join(store, "manifest.json")) as f:
        assert json.load(f)["environment"]["tensorflow"] == "2.15.1"
    run = check(tmp_path, ".", "--against", store, cwd=work)
    assert run.returncode == 0, run.stdout[-3000:]
    assert set(run.verdicts("equiv_inception_cross_version.py::inception").values()) == {"passed"}
    suite = next(iter(run.xml))
    props = {p.name: p.value for p in suite.properties()}
    assert props["environment.tf1_tensorflow"] == "2.15.1"
    assert props["environment.tensorflow"] == "2.21.0"


@pytest.mark.skipif(os.environ.get("TF_EQUIV_CROSS_VERSION") != "1",
                    reason="set TF_EQUIV_CROSS_VERSION=1 (and run .ci/setup-legacy) to record "
                           "with TensorFlow 2.15.1")
@pytest.mark.tensorflow
def test_a_training_run_recorded_with_tensorflow_2_15_is_compared_with_2_21(tmp_path):
    """The TF1 training run (its batches, its noise run, its state) is recorded once under the
    old TensorFlow; every later TF2 training run is compared with it."""
    assert os.path.exists(LEGACY_PYTHON), "run .ci/setup-legacy first"
    folder = os.path.join(ROOT, "tests", "fixtures_train")
    work = tmp_path / "mods"
    shutil.copytree(folder, work)
    store = str(tmp_path / "records")
    select = ("--select", "*::momentum", "--select", "*::bn_momentum")
    recorded = tf_equiv("record", "equiv_training.py", *select, "--side", "tf1", "--out", store,
                        "--python", LEGACY_PYTHON, cwd=str(work))
    assert recorded.returncode == 0, recorded.stdout[-3000:]
    with open(os.path.join(store, "manifest.json")) as f:
        entry = json.load(f)["pairs"]["equiv_training.py::momentum"]
    assert {"tf1-batches.npz", "tf1-training_run.npz"} <= set(
        os.listdir(os.path.join(store, entry["folder"])))
    run = check(tmp_path, "equiv_training.py", *select, "--against", store, cwd=str(work),
                env={"TF_ENABLE_ONEDNN_OPTS": "1"})
    assert run.case("equiv_training.py::momentum::training_run").verdict == "passed"
    # The band is the stored run's one-ulp model: the oneDNN-off run is one of the run it judges.
    detail = next(c for c in read_junit(str(tmp_path / "report.xml")).cases
                  if c.pair == "momentum" and c.check == "training_run").detail
    assert "noise: the TF1 run with oneDNN off is missing (not run against stored TF1 records)" \
        in detail, detail
    bn = run.case("equiv_training.py::bn_momentum::training_run")
    assert bn.verdict == "failed"
    assert "the variable that moved first: net/bn/moving_" in bn.message
