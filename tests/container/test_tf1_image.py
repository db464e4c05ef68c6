"""The CPU image's variant with TensorFlow 2.15 for TF1 sides (Dockerfile's TF1_TENSORFLOW, the
action's tf1-tensorflow), built from the Dockerfile and run as the action does.

Enabled by TF_EQUIV_CONTAINER_TESTS=1, as test_images.py; its layers up to the current TensorFlow
are the CPU image's, so after test_images.py only the legacy environment is built.
"""
from __future__ import annotations

import json
import os

import pytest
from docker_helpers import (
    CPU_IMAGE,
    TF1_BUILD_ARGS,
    TF1_IMAGE,
    action_run,
    base_image,
    build,
    enabled,
    engine,
    junit_cases,
    junit_properties,
    outputs,
    sh,
    workspace,
)

pytestmark = [enabled, pytest.mark.tensorflow]

LEGACY_PYTHON = "/opt/tf1-2.15/bin/python"
DISTRIBUTIONS = ("tensorflow-cpu", "tensorflow", "tensorflow-estimator", "tf-keras", "tf-slim",
                 "numpy", "tf-equiv")


@pytest.fixture(scope="module")
def image() -> str:
    engine()
    base_image()
    build(TF1_IMAGE, "Dockerfile", *TF1_BUILD_ARGS)
    return TF1_IMAGE


@pytest.fixture
def ws(tmp_path) -> str:
    return workspace(tmp_path)


def versions(image: str, python: str) -> dict:
    """The versions of DISTRIBUTIONS that `python` in `image` has (None: not installed)."""
    script = ("import importlib.metadata as m, json, sys\n"
              "def version(name):\n"
              "    try:\n"
              "        return m.version(name)\n"
              "    except m.PackageNotFoundError:\n"
              "        return None\n"
              "print(json.dumps({n: version(n) for n in sys.argv[1:]}))\n")
    proc = sh("docker", "run", "--rm", "--network", "none", "--entrypoint", python, image,
              "-c", script, *DISTRIBUTIONS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_variant_adds_a_legacy_environment_for_tf1_sides(image):
    config = json.loads(sh("docker", "image", "inspect", image).stdout)[0]["Config"]
    assert f"TF_EQUIV_TF1_PYTHON={LEGACY_PYTHON}" in config["Env"]
    assert config["User"] == "1000:1000" and config["Entrypoint"] == ["/entrypoint"]
    # One TensorFlow wheel in each environment; tf_equiv only in the current one.
    assert versions(image, LEGACY_PYTHON) == {
        "tensorflow-cpu": "2.15.1", "tensorflow": None, "tensorflow-estimator": "2.15.0",
        "tf-keras": "2.15.1", "tf-slim": "1.1.0", "numpy": "1.26.4", "tf-equiv": None}
    current = versions(image, "python")
    assert (current["tensorflow-cpu"], current["tensorflow"], current["tf-equiv"]) == \
        ("2.21.0", None, "0.1.0")


def test_the_estimator_pair_runs_its_tf1_side_under_tensorflow_2_15(image, ws):
    proc = sh("docker", "run", "--rm", "--network", "none", "--user", "4321:4321",
              "--volume", f"{ws}:{ws}", "--workdir", ws, image,
              "check", "examples", "--select", "estimator", "--junit-xml", "estimator.xml",
              timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = os.path.join(ws, "estimator.xml")
    cases = junit_cases(report)
    # Nothing skipped: the image without the variant skips every check that needs the TF1 side.
    assert cases and {c.verdict for c in cases.values()} == {"passed"}
    assert all(k.startswith("examples/equiv_estimator.py::estimator::") for k in cases)
    props = junit_properties(report)["examples/equiv_estimator.py"]
    assert props["environment.tensorflow"] == "2.21.0"
    assert props["environment.tf1_tensorflow"] == "2.15.1"
    assert "tf1_tensorflow 2.15.1" in proc.stdout


def test_action_mode_with_tf1_tensorflow(image, ws, tmp_path):
    proc, output, _ = action_run(image, ws, tmp_path, path="examples/equiv_estimator.py",
                                 select="estimator::transferred_inference", tf1_tensorflow="2.15")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "::error" not in proc.stdout
    assert outputs(output) == {"junit-xml": "tf-equiv-report.xml", "html": "", "total": "1",
                               "passed": "1", "failed": "0", "errors": "0", "skipped": "0"}
    props = junit_properties(os.path.join(ws, "tf-equiv-report.xml"))
    assert props["examples/equiv_estimator.py"]["environment.tf1_tensorflow"] == "2.15.1"


BAD_INPUTS = {
    "another version": (TF1_IMAGE, {"tf1_tensorflow": "2.14"},
                        "tf1-tensorflow must be empty or 2.15, got '2.14'"),
    "the gpu device": (TF1_IMAGE, {"tf1_tensorflow": "2.15", "device": "gpu"},
                       "tf1-tensorflow needs device cpu"),
    "an image without it": (CPU_IMAGE, {"tf1_tensorflow": "2.15"},
                            "tf1-tensorflow is 2.15 but this image has no legacy TensorFlow "
                            "(TF_EQUIV_TF1_PYTHON is empty): run the image variant cpu-tf1-2.15"),
}


@pytest.mark.parametrize("tag,inputs,message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_a_tf1_tensorflow_the_image_cannot_honor_is_a_usage_error(image, ws, tmp_path, tag,
                                                                  inputs, message):
    if sh("docker", "image", "inspect", tag).returncode != 0:
        build(tag, "Dockerfile")
    proc, output, summary = action_run(tag, ws, tmp_path, path="examples", **inputs)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1 and message in errors[0], proc.stdout + proc.stderr
    assert "title=tf-equiv%3A usage error::" in errors[0]
    assert not os.path.exists(os.path.join(ws, "tf-equiv-report.xml"))
    assert open(output).read() == "" and open(summary).read() == ""
