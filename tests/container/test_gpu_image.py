"""The CUDA image (Dockerfile.gpu): it builds from the base image named by BASE_IMAGE, carries the
CUDA libraries in its wheels, and on a machine without a GPU runs on the CPU.

Its wheels are several gigabytes: enabled by TF_EQUIV_GPU_IMAGE_TESTS=1 on top of
TF_EQUIV_CONTAINER_TESTS=1, as .ci/container sets both unless TF_EQUIV_GPU_IMAGE_TESTS=0.
"""
from __future__ import annotations

import json
import os

import pytest
from docker_helpers import (
    BASE_IMAGE,
    GPU_IMAGE,
    base_image,
    build,
    docker_run,
    enabled,
    engine,
    junit_cases,
    sh,
    workspace,
)

pytestmark = [enabled, pytest.mark.tensorflow,
              pytest.mark.skipif(os.environ.get("TF_EQUIV_GPU_IMAGE_TESTS") != "1",
                                 reason="the CUDA image builds with TF_EQUIV_GPU_IMAGE_TESTS=1")]

#: The base image under another name, given as the build argument.
RENAMED_BASE = "tf-equiv-test/base:3.11"


@pytest.fixture(scope="module")
def image() -> str:
    engine()
    base_image()
    assert sh("docker", "tag", BASE_IMAGE, RENAMED_BASE).returncode == 0
    build(GPU_IMAGE, "Dockerfile.gpu", "--build-arg", f"BASE_IMAGE={RENAMED_BASE}", timeout=3600)
    return GPU_IMAGE


def test_gpu_image_carries_cuda_and_falls_back_to_the_cpu(image):
    script = (
        "import importlib.metadata as m, json, tensorflow as tf, tf_keras, tf_slim, tf_equiv\n"
        "def version(name):\n"
        "    try:\n"
        "        return m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        "print(json.dumps({'cuda': tf.test.is_built_with_cuda(),\n"
        "                  'devices': [d.device_type for d in tf.config.list_physical_devices()],\n"
        "                  'dists': {n: version(n) for n in ('tensorflow', 'tensorflow-cpu',\n"
        "                            'tf-keras', 'nvidia-cudnn-cu12', 'nvidia-cublas-cu12')}}))\n")
    proc = sh("docker", "run", "--rm", "--network", "none", "--entrypoint", "python", image,
              "-c", script)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["cuda"] is True
    assert found["devices"] == ["CPU"]
    assert found["dists"] == {"tensorflow": "2.21.0", "tensorflow-cpu": None, "tf-keras": "2.21.0",
                              "nvidia-cudnn-cu12": "9.28.0.42",
                              "nvidia-cublas-cu12": "12.9.3.13"}


def test_gpu_image_checks_a_migration_on_the_cpu(image, tmp_path):
    ws = workspace(tmp_path)
    proc = docker_run(image, "check", "examples/equiv_mlp.py", "--junit-xml", "mlp.xml",
                      workspace=ws)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cases = junit_cases(os.path.join(ws, "mlp.xml"))
    assert cases and {c.verdict for c in cases.values()} == {"passed"}
