"""The GitHub Action (action.yml): which image it runs, that the release workflow publishes that
image, and a workflow using it through `uses: ./` under act, on this machine's Docker engine.

Enabled by TF_EQUIV_CONTAINER_TESTS=1; act and the YAML reader come from .venv-tools
(.ci/setup-tools).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
from typing import Optional

import pytest
from docker_helpers import HERE, ROOT, TOOLS, base_image, enabled, engine, sh, timed

# Its workflow runs the image, and the image runs TensorFlow.
pytestmark = [enabled, pytest.mark.tensorflow]

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def tools() -> None:
    timed("tools", os.path.join(ROOT, ".ci", "setup-tools"), timeout=900)


def step_script(tools, path: str, job: Optional[str] = None, step_id: Optional[str] = None) -> str:
    """The `run:` script of the step `step_id` of action.yml, or of a workflow's job."""
    code = ("import json, sys\nfrom ruamel.yaml import YAML\n"
            "doc = YAML(typ='safe').load(open(sys.argv[1]))\n"
            "steps = doc['jobs'][sys.argv[2]]['steps'] if sys.argv[2] else doc['runs']['steps']\n"
            "print(json.dumps([s.get('id') for s in steps]), json.dumps([s.get('run') for s in steps]),"
            " sep='\\n')\n")
    proc = sh(os.path.join(TOOLS, "python"), "-c", code, os.path.join(ROOT, path), job or "")
    assert proc.returncode == 0, proc.stderr
    ids, runs = (json.loads(line) for line in proc.stdout.splitlines())
    return runs[ids.index(step_id)]


def run_step(script: str, tmp_path, **env: str) -> tuple:
    """Run a step's script with bash as the runner does; (exit status, stdout, its outputs)."""
    output = tmp_path / "output"
    output.write_text("")
    proc = subprocess.run(["bash", "-e", "-c", script], text=True, capture_output=True,
                          env={"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output), **env})
    return proc.returncode, proc.stdout + proc.stderr, output.read_text()


def image_step(tools, tmp_path, **env: str) -> tuple:
    defaults = {"INPUT_DEVICE": "cpu", "INPUT_IMAGE": "", "INPUT_BUILD": "false",
                "INPUT_TF1_TENSORFLOW": "",
                "ACTION_REPOSITORY": "", "ACTION_REF": "", "GITHUB_ACTION_PATH": ROOT}
    return run_step(step_script(tools, "action.yml", step_id="image"), tmp_path,
                    **{**defaults, **env})


RELEASED = {
    "v1.2.3": "ghcr.io/some-owner/tf-equiv:1.2.3-cpu",
    "v1.2": "ghcr.io/some-owner/tf-equiv:1.2-cpu",
    "v1": "ghcr.io/some-owner/tf-equiv:1-cpu",
    SHA: f"ghcr.io/some-owner/tf-equiv:{SHA}-cpu",
}


@pytest.mark.parametrize("ref,image", RELEASED.items())
def test_the_action_runs_the_released_image_of_its_ref(tools, tmp_path, ref, image):
    status, log, out = image_step(tools, tmp_path, ACTION_REPOSITORY="Some-Owner/tf-equiv",
                                  ACTION_REF=ref)
    assert (status, out) == (0, f"image={image}\n"), log


def test_tf1_tensorflow_runs_the_released_variant(tools, tmp_path):
    status, log, out = image_step(tools, tmp_path, INPUT_TF1_TENSORFLOW="2.15",
                                  ACTION_REPOSITORY="Some-Owner/tf-equiv", ACTION_REF="v1.2.3")
    assert (status, out) == (0, "image=ghcr.io/some-owner/tf-equiv:1.2.3-cpu-tf1-2.15\n"), log


def test_the_release_publishes_what_the_action_runs(tools, tmp_path):
    script = step_script(tools, ".github/workflows/release.yml", job="images", step_id="tags")
    for variant in ("cpu", "gpu", "cpu-tf1-2.15"):
        status, log, out = run_step(script, tmp_path, REF_NAME="v1.2.3", OWNER="Some-Owner",
                                    VARIANT=variant, GITHUB_SHA=SHA)
        assert status == 0, log
        tags = set(out.split("tags<<EOF\n")[1].split("EOF\n")[0].split())
        assert tags == {image.replace("-cpu", f"-{variant}") for image in RELEASED.values()}


def test_the_action_finds_its_ref_in_its_checkout_folder(tools, tmp_path):
    status, log, out = image_step(
        tools, tmp_path, INPUT_DEVICE="gpu",
        GITHUB_ACTION_PATH="/home/runner/work/_actions/Some-Owner/tf-equiv/v2.0.1")
    assert (status, out) == (0, "image=ghcr.io/some-owner/tf-equiv:2.0.1-gpu\n"), log


def test_an_image_input_wins(tools, tmp_path):
    status, log, out = image_step(tools, tmp_path, INPUT_IMAGE="registry.example/me/tf-equiv:x",
                                  ACTION_REF="v1", ACTION_REPOSITORY="o/r")
    assert (status, out) == (0, "image=registry.example/me/tf-equiv:x\n"), log


@pytest.mark.parametrize("env,message", [
    ({}, "set 'build: true' to build the image from the action's Dockerfile, or 'image:'"),
    ({"ACTION_REF": "main", "ACTION_REPOSITORY": "o/r"}, "ref 'main' is not a release tag"),
    ({"INPUT_DEVICE": "tpu", "INPUT_IMAGE": "x"}, "device must be cpu or gpu, got 'tpu'"),
    ({"INPUT_BUILD": "yes"}, "build must be true or false, got 'yes'"),
    ({"INPUT_TF1_TENSORFLOW": "1.15", "INPUT_IMAGE": "x"},
     "tf1-tensorflow must be empty or 2.15, got '1.15'"),
    ({"INPUT_TF1_TENSORFLOW": "2.15", "INPUT_DEVICE": "gpu", "INPUT_BUILD": "true"},
     "tf1-tensorflow needs device cpu"),
], ids=["uses ./", "a branch", "unknown device", "build not a boolean", "tf1-tensorflow unknown",
        "tf1-tensorflow on gpu"])
def test_the_action_refuses_what_it_cannot_run(tools, tmp_path, env, message):
    status, log, out = image_step(tools, tmp_path, **env)
    assert status == 2 and out == "", log
    assert re.search(r"^::error title=tf-equiv%3A usage error::.*" + re.escape(message), log,
                     re.M), log


def test_a_workflow_uses_the_action_under_act(tools, tmp_path):
    """tests/container/workflows/uses-action.yml under act, its steps on this machine (the runner image
    cannot be pulled): the action builds its image, passes on an example and, with
    tf1-tensorflow, on the Estimator example, fails on a drift, and the workflow's own steps check
    the outputs."""
    engine()
    base_image()
    env = {**os.environ, "PATH": TOOLS + os.pathsep + os.environ["PATH"]}
    start = time.monotonic()
    proc = subprocess.run(
        [os.path.join(TOOLS, "act"), "push", "--workflows",
         os.path.join(HERE, "workflows", "uses-action.yml"), "--platform",
         "ubuntu-latest=-self-hosted", "--action-cache-path", str(tmp_path / "act-cache"),
         "--actor", "tf-equiv", "--no-recurse"],
        cwd=ROOT, text=True, capture_output=True, timeout=1800, env=env)
    print(f"\nact: {time.monotonic() - start:.0f} s")
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-8000:]
    assert re.search(r"examples: junit-xml=reports/examples\.xml total=(\d+) passed=\1 failed=0 "
                     r"errors=0 skipped=0", log), log[-8000:]
    # tf1-tensorflow "2.15": the Estimator's TF1 side runs under TensorFlow 2.15, nothing skipped.
    assert re.search(r"estimator: junit-xml=reports/estimator\.xml total=(\d+) passed=\1 "
                     r"skipped=0", log), log[-8000:]
    assert "drift: outcome=failure junit-xml=reports/drift.xml total=3 failed=3" in log
    # The drift's failures reach the workflow as error annotations on the module.
    assert re.search(r"::error file=tests/fixtures/equiv_drift\.py,line=\d+,title=tf-equiv", log), \
        log[-8000:]
