"""The CPU image, built unchanged from Dockerfile, run as a user would and as the action does.

Enabled by TF_EQUIV_CONTAINER_TESTS=1: needs a Docker engine and mmdebstrap (.ci/setup-docker
installs and starts them) and reaches PyPI while building. Every run is `--network none`.
"""
from __future__ import annotations

import json
import os
import shutil

import pytest
from docker_helpers import (
    BASE_IMAGE,
    CPU_IMAGE,
    ROOT,
    UID,
    action_run,
    base_image,
    build,
    docker_run,
    enabled,
    engine,
    junit_cases,
    outputs,
    sh,
    workspace,
)

# The images run TensorFlow.
pytestmark = [enabled, pytest.mark.tensorflow]

EXAMPLES = ("equiv_estimator.py", "equiv_inception_v3.py", "equiv_mlp.py", "equiv_mlp_keras.py",
            "equiv_resnet_small_train.py", "equiv_resnet_v1_50.py")


@pytest.fixture(scope="module")
def image() -> str:
    engine()
    base_image()
    build(CPU_IMAGE, "Dockerfile")
    return CPU_IMAGE


@pytest.fixture
def ws(tmp_path) -> str:
    return workspace(tmp_path)


def test_image_has_one_tensorflow_and_imports_cleanly(image):
    config = json.loads(sh("docker", "image", "inspect", image).stdout)[0]["Config"]
    assert config["User"] == "1000:1000"
    assert config["Entrypoint"] == ["/entrypoint"]
    # No legacy TensorFlow: both sides run with the image's interpreter.
    assert {"PYTHONUNBUFFERED=1", "TF_USE_LEGACY_KERAS=1", "TF_EQUIV_TF1_PYTHON="} <= set(config["Env"])
    script = (
        "import importlib.metadata as m, json, tensorflow as tf, tf_keras, tf_slim, tf_equiv\n"
        "def version(name):\n"
        "    try:\n"
        "        return m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        "print(json.dumps({'tf': tf.__version__, 'keras': tf.keras.__name__,\n"
        "                  'dists': {n: version(n) for n in ('tensorflow-cpu', 'tensorflow',\n"
        "                            'tf-keras', 'tf-slim', 'tf-equiv')}}))\n")
    proc = sh("docker", "run", "--rm", "--network", "none", "--entrypoint", "python", image,
              "-c", script)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["tf"] == "2.21.0"
    assert found["keras"].startswith("tf_keras")       # TF_USE_LEGACY_KERAS=1: tf.keras is tf_keras
    assert found["dists"] == {"tensorflow-cpu": "2.21.0", "tensorflow": None,
                              "tf-keras": "2.21.0", "tf-slim": "1.1.0", "tf-equiv": "0.1.0"}


def test_image_was_built_from_the_base_image(image):
    base = json.loads(sh("docker", "image", "inspect", BASE_IMAGE).stdout)[0]
    built = json.loads(sh("docker", "image", "inspect", image).stdout)[0]
    assert base["RootFS"]["Layers"] == built["RootFS"]["Layers"][:len(base["RootFS"]["Layers"])]


def test_examples_pass_in_the_container(image, ws):
    proc = docker_run(image, "check", "examples", "--junit-xml", "reports/examples.xml",
                      workspace=ws)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = os.path.join(ws, "reports", "examples.xml")
    cases = junit_cases(report)
    # The Estimator example's TF1 checks are skipped: the image's TensorFlow has no tf.estimator.
    assert {c.verdict for k, c in cases.items() if "equiv_estimator" not in k} == {"passed"}
    assert {c.verdict for c in cases.values()} <= {"passed", "skipped"}
    assert {k.split("::")[0] for k in cases} == {f"examples/{m}" for m in EXAMPLES}
    # Written as the uid given to --user, not root and not the image's user.
    assert os.stat(report).st_uid == UID
    assert os.stat(os.path.dirname(report)).st_uid == UID


def test_a_drifting_migration_fails_in_the_container(image, ws):
    proc = docker_run(image, "check", "tests/fixtures/equiv_drift.py", "--junit-xml", "drift.xml",
                      workspace=ws)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    cases = junit_cases(os.path.join(ws, "drift.xml"))
    case = cases["tests/fixtures/equiv_drift.py::drift::transferred_inference"]
    assert case.verdict == "failed"
    assert "first divergence in forward order: outputs/logits: max abs diff 0.001" in case.message
    assert {c.verdict for c in cases.values()} == {"failed"}


def test_the_readme_command_line(image, tmp_path):
    """`docker run --rm -v "$PWD:/work" -w /work IMAGE check .`, as the image's own user, in a
    folder it cannot write to."""
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(os.path.join(ROOT, "examples", "equiv_mlp.py"), folder)
    proc = sh("docker", "run", "--rm", "--network", "none", "-v", f"{folder}:/work", "-w", "/work",
              image, "check", ".")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "equiv_mlp.py::mlp" in proc.stdout and " passed in " in proc.stdout
    assert os.listdir(folder) == ["equiv_mlp.py"]


def test_action_mode_writes_outputs_and_summary(image, ws, tmp_path):
    proc, output, summary = action_run(image, ws, tmp_path, path="examples", select="mlp",
                                       junit_xml="reports/mlp.xml", jobs="2", timeout="600",
                                       device="cpu")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert ("tf-equiv check examples --junit-xml reports/mlp.xml --github --select mlp --jobs 2 "
            "--timeout 600") in proc.stdout
    assert "::group::" in proc.stdout and "::error" not in proc.stdout
    cases = junit_cases(os.path.join(ws, "reports", "mlp.xml"))
    assert cases and all(k.startswith("examples/equiv_mlp.py::mlp::") for k in cases)
    total = str(len(cases))
    assert outputs(output) == {"junit-xml": "reports/mlp.xml", "html": "", "total": total,
                               "passed": total, "failed": "0", "errors": "0", "skipped": "0"}
    text = open(summary, encoding="utf-8").read()
    assert text.startswith("## tf-equiv:") and "equiv_mlp.py::mlp" in text
    for path in (output, summary, os.path.join(ws, "reports", "mlp.xml")):
        assert os.stat(path).st_uid == UID


def test_action_mode_annotates_a_failure(image, ws, tmp_path):
    # Globs separated by a newline and a space; extra arguments split on whitespace.
    proc, output, summary = action_run(
        image, ws, tmp_path, path="tests/fixtures/equiv_drift.py",
        select="drift::constant_inference\n  drift::transferred_inference",
        args="--timeout 300\n--no-compat-fixes", html="auto")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert ("--github --select drift::constant_inference --select drift::transferred_inference "
            "--timeout 300 --no-compat-fixes") in proc.stdout
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 2, proc.stdout[-3000:]
    assert all(line.startswith("::error file=tests/fixtures/equiv_drift.py,line=") for line in errors)
    assert outputs(output) == {"junit-xml": "tf-equiv-report.xml", "html": "tf-equiv-report.html",
                               "total": "2", "passed": "0", "failed": "2", "errors": "0",
                               "skipped": "0"}
    # "auto": the HTML report next to the JUnit report, named in the summary.
    page = open(os.path.join(ws, "tf-equiv-report.html"), encoding="utf-8").read()
    assert page.startswith("<!DOCTYPE html>") and "tests/fixtures/equiv_drift.py::drift" in page
    assert '<span class="v failed">failed</span> transferred_inference' in page
    assert "`tf-equiv-report.html`" in open(summary, encoding="utf-8").read()
    assert "drift::transferred_inference" in open(summary, encoding="utf-8").read()
    assert os.stat(os.path.join(ws, "tf-equiv-report.xml")).st_uid == UID


BAD_INPUTS = {
    "unknown device": ({"device": "tpu"}, "device must be cpu or gpu, got 'tpu'"),
    "path above the workspace": ({"path": "../"}, "is outside the workspace"),
    "absolute path elsewhere": ({"path": "/etc"}, "path '/etc' is outside the workspace"),
    "symlink out of the workspace": ({"path": "escape"}, "path 'escape' is outside the workspace"),
    "malformed shard": ({"shard": "one/4"}, "Invalid value for '--shard'"),
    "shard out of range": ({"shard": "5/4"}, "shard 5 of 4"),
    "select matching nothing": ({"select": "no_such_pair"}, "matches no pair or check"),
}


@pytest.mark.parametrize("inputs,message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_a_usage_error_and_runs_nothing(image, ws, tmp_path, inputs, message):
    os.symlink("/", os.path.join(ws, "escape"))
    proc, output, summary = action_run(image, ws, tmp_path, **{"path": "examples", **inputs})
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1 and message in errors[0], proc.stdout + proc.stderr
    assert "title=tf-equiv%3A usage error::" in errors[0]
    assert not os.path.exists(os.path.join(ws, "tf-equiv-report.xml"))
    assert open(output).read() == "" and open(summary).read() == ""


def test_gpu_device_without_a_gpu_warns(image, ws, tmp_path):
    proc, _, _ = action_run(image, ws, tmp_path, path="examples", device="gpu",
                            select="no_such_pair")
    assert proc.returncode == 2
    assert "::warning title=tf-equiv::device is gpu but no NVIDIA GPU is visible" in proc.stdout


def test_init_writes_modules_the_image_checks(image, ws):
    """`tf-equiv init` in the image: a TF1 function's module passes unedited; a SavedModel
    exported in the image gets a module whose stub TF2 side is skipped, saying what to write."""
    made = docker_run(image, "init", "examples/equiv_mlp.py:tf1_forward", "--inputs",
                      "x=8x20:float32", "--out", "equiv_mlp_init.py", workspace=ws)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    assert "Check it: tf-equiv check equiv_mlp_init.py" in made.stdout
    run = docker_run(image, "check", "equiv_mlp_init.py", "--junit-xml", "init.xml", workspace=ws)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    cases = junit_cases(os.path.join(ws, "init.xml"))
    assert len(cases) == 11 and {c.verdict for c in cases.values()} == {"passed"}

    shutil.copy(os.path.join(ROOT, "tests", "fixtures_init", "export_saved_model.py"), ws)
    exported = sh("docker", "run", "--rm", "--network", "none", "--user", f"{UID}:{UID}",
                  "--volume", f"{ws}:{ws}", "--workdir", ws, "--entrypoint", "python", image,
                  "export_saved_model.py", "export/1")
    assert exported.returncode == 0, exported.stderr[-3000:]
    made = docker_run(image, "init", "export/1", workspace=ws)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    assert "fill in: tf2_model()" in made.stdout
    run = docker_run(image, "check", "export/equiv_export.py", "--junit-xml", "saved.xml",
                     workspace=ws)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    cases = junit_cases(os.path.join(ws, "saved.xml"))
    assert cases and {c.verdict for c in cases.values()} == {"skipped"}
    assert all("tf2 is a stub: write tf2_model()" in c.message for c in cases.values())
