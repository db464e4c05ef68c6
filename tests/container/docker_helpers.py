"""Shared by the container tests: the Docker engine, the images they build, and runs of them."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Optional

import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tests", "container")
TOOLS = os.path.join(ROOT, ".venv-tools", "bin")
BASE_IMAGE = "python:3.11-slim"
CPU_IMAGE = "tf-equiv:test-cpu"
GPU_IMAGE = "tf-equiv:test-gpu"
#: The CPU image whose TF1 sides run under TensorFlow 2.15 (the action's tf1-tensorflow: "2.15").
TF1_IMAGE = "tf-equiv:test-cpu-tf1-2.15"
TF1_BUILD_ARGS = ("--build-arg", "TF1_TENSORFLOW=2.15")
#: Neither root nor the image's own user: files must be written as the uid `--user` names.
UID = 4321

enabled = pytest.mark.skipif(os.environ.get("TF_EQUIV_CONTAINER_TESTS") != "1",
                             reason="container tests run with TF_EQUIV_CONTAINER_TESTS=1")


def sh(*args: str, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, text=True, capture_output=True, timeout=timeout, **kw)


def timed(label: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """Run a setup command, print how long it took, and fail with its output if it failed."""
    start = time.monotonic()
    proc = sh(*args, timeout=timeout, cwd=ROOT)
    print(f"\n{label}: {time.monotonic() - start:.0f} s")
    assert proc.returncode == 0, f"{label} failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"
    return proc


def engine() -> None:
    """A running Docker engine and mmdebstrap (.ci/setup-docker installs and starts them)."""
    timed("docker engine", os.path.join(ROOT, ".ci", "setup-docker"), timeout=600)


def base_image() -> None:
    """python:3.11-slim, or a stand-in built from Debian packages where no registry is reachable."""
    if sh("docker", "image", "inspect", BASE_IMAGE).returncode != 0:
        timed("stand-in base image", os.path.join(HERE, "build-stand-in-base"), BASE_IMAGE,
              timeout=1200)


def build(tag: str, dockerfile: str, *args: str, timeout: float = 1800) -> None:
    timed(f"docker build {dockerfile}", "docker", "build", "--file",
          os.path.join(ROOT, dockerfile), "--tag", tag, *args, ROOT, timeout=timeout)


def workspace(tmp_path) -> str:
    """A copy of the examples and fixtures that the uid UID can write into."""
    ws = tmp_path / "ws"
    shutil.copytree(os.path.join(ROOT, "examples"), ws / "examples")
    shutil.copytree(os.path.join(ROOT, "tests", "fixtures"), ws / "tests" / "fixtures",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for folder, _, _ in os.walk(ws):
        os.chmod(folder, 0o777)
    return str(ws)


def docker_run(image: str, *args: str, workspace: str, env: Optional[dict] = None,
               mounts: Optional[dict] = None,
               user: str = f"{UID}:{UID}", workdir: Optional[str] = None,
               timeout: float = 1500) -> subprocess.CompletedProcess:
    """`docker run` without a network, the workspace mounted at the same path, the variables in
    `env` passed by name only (as the action passes them), `mounts` {host: container} added."""
    cmd = ["docker", "run", "--rm", "--network", "none", "--user", user,
           "--volume", f"{workspace}:{workspace}", "--workdir", workdir or workspace]
    for host, container in (mounts or {}).items():
        cmd += ["--volume", f"{host}:{container}"]
    for name in env or {}:
        cmd += ["--env", name]
    return sh(*cmd, image, *args, timeout=timeout, env={**os.environ, **(env or {})})


def github_files(tmp_path) -> tuple:
    """GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files as the runner makes them: empty, the runner's."""
    files = []
    for name in ("output", "step_summary"):
        path = tmp_path / name
        path.write_text("")
        os.chown(path, UID, UID)
        files.append(str(path))
    return tuple(files)


def action_run(image: str, ws: str, tmp_path, **inputs: str):
    """The entrypoint in the action's mode, as action.yml runs it: INPUT_* variables, the runner's
    files mounted, no arguments."""
    output, summary = github_files(tmp_path)
    env = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": ws, "GITHUB_OUTPUT": "/github/output",
           "GITHUB_STEP_SUMMARY": "/github/step_summary",
           **{f"INPUT_{k.upper()}": v for k, v in inputs.items()}}
    proc = docker_run(image, workspace=ws, env=env,
                      mounts={output: "/github/output", summary: "/github/step_summary"})
    return proc, output, summary


@dataclass
class Case:
    verdict: str
    message: str


def junit_cases(path: str) -> dict:
    """{"module.py::pair::check": Case} from a JUnit report, read with junitparser."""
    cases = {}
    for suite in JUnitXml.fromfile(path):
        for tc in suite:
            result = tc.result[0] if tc.result else None
            verdict = ("failed" if isinstance(result, Failure) else "error"
                       if isinstance(result, Error) else "skipped"
                       if isinstance(result, Skipped) else "passed")
            cases[f"{suite.name}::{tc.name}"] = Case(verdict, (result.message or "")
                                                     if result is not None else "")
    return cases


def junit_properties(path: str) -> dict:
    """{"module.py": {name: value}}: each suite's properties in a JUnit report."""
    return {suite.name: {p.name: p.value for p in suite.properties()}
            for suite in JUnitXml.fromfile(path)}


def outputs(path: str) -> dict:
    """The step outputs written to a GITHUB_OUTPUT file (name=value lines)."""
    with open(path, encoding="utf-8") as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
