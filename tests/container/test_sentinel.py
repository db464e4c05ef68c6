"""The upgrade sentinel of docs/ci.md, run under act as the docs write it: the workflow is read from
the page, so the one tested is the one users copy. Its TF2 side is checked against stored TF1
records with the margins of the last run restored from the cache: a margin that shrank is a
warning (annotation and job summary) and exit 0, the next run compares with this run's margins,
and a module changed since it was recorded fails the run.

act runs offline with the steps on this machine, so the remote actions the workflow names are
replaced by the local stand-ins in tests/container/workflows/sentinel/ (actions/cache/restore and
save keep entries in a folder of this machine and pick them as the real action does: an exact key,
else the newest entry whose key starts with a restore key; setup-python puts this checkout's .venv
on PATH), and the step that installs the newest TensorFlow from PyPI prints the checker's version
instead. actions/checkout is act's own: it copies the working tree.

Enabled by TF_EQUIV_CONTAINER_TESTS=1; act and the YAML reader come from .venv-tools.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from docker_helpers import HERE, ROOT, TOOLS, enabled, sh, timed

# The checks run TensorFlow (this checkout's .venv), on the steps' machine.
pytestmark = [enabled, pytest.mark.tensorflow]

CASE = "models/equiv_margin.py::near::transferred_inference"
STAND_INS = {"actions/setup-python@": "./.sentinel/setup-python",
             "actions/cache/restore@": "./.sentinel/cache-restore",
             "actions/cache/save@": "./.sentinel/cache-save"}
SHRANK = ("margin shrank 145x, from 1000x at the last run to 6.9x: still passing, but the numbers "
          "moved (a TensorFlow, oneDNN or machine change?)")


@pytest.fixture(scope="module")
def tools() -> None:
    if not os.path.exists(os.path.join(TOOLS, "act")):
        timed("tools", os.path.join(ROOT, ".ci", "setup-tools"), timeout=900)


def documented_workflow() -> dict:
    """The YAML block of docs/ci.md's "An upgrade sentinel" section, parsed."""
    code = ("import json, re, sys\nfrom ruamel.yaml import YAML\n"
            "text = open(sys.argv[1], encoding='utf-8').read()\n"
            "section = text.split('\\n## An upgrade sentinel\\n', 1)[1].split('\\n## ', 1)[0]\n"
            "(block,) = re.findall(r'^```yaml\\n(.*?)^```', section, re.M | re.S)\n"
            "print(json.dumps(YAML(typ='safe').load(block)))\n")
    proc = sh(os.path.join(TOOLS, "python"), "-c", code, os.path.join(ROOT, "docs", "ci.md"))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def offline(workflow: dict) -> dict:
    """The workflow with its remote actions replaced by the local stand-ins, and no install."""
    (job,) = workflow["jobs"].values()
    for step in job["steps"]:
        uses = step.get("uses", "")
        local = next((path for prefix, path in STAND_INS.items() if uses.startswith(prefix)),
                     None)
        assert local or not uses or uses.startswith("actions/checkout@"), \
            f"{uses}: no local stand-in for act, which runs offline"
        if local:
            step["uses"] = local
        if step.get("id") == "upgrade":
            step["run"] = "tf-equiv --version"
    return workflow


def git(folder, *args: str) -> None:
    proc = sh("git", "-c", "user.name=tf-equiv", "-c", "user.email=tf-equiv@localhost", *args,
              cwd=str(folder))
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def project(tools, tmp_path_factory):
    """A repository with one pair whose margin is about 7x, its TF1 records, and the sentinel."""
    repo = tmp_path_factory.mktemp("sentinel") / "repo"
    (repo / "models").mkdir(parents=True)
    for name in ("equiv_margin.py", "_models.py"):
        shutil.copy(os.path.join(ROOT, "tests", "fixtures_truth", name), repo / "models")
    recorded = subprocess.run([sys.executable, "-m", "tf_equiv", "record", "models/", "--side",
                               "tf1", "--out", "tf1-records/"], cwd=repo, text=True,
                              capture_output=True, timeout=900, env=_env({}))
    assert recorded.returncode == 0, recorded.stdout[-3000:] + recorded.stderr[-3000:]
    shutil.copytree(os.path.join(HERE, "workflows", "sentinel"), repo / ".sentinel")
    (repo / ".github" / "workflows").mkdir(parents=True)
    # JSON is YAML: act reads the documented workflow as it was parsed, stand-ins in.
    (repo / ".github" / "workflows" / "sentinel.yml").write_text(
        json.dumps(offline(documented_workflow()), indent=1))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "models, their TF1 records and the sentinel")
    cache = repo.parent / "cache"
    # The last run's margins: far more room than this run will have.
    (cache / "tf-equiv-margins-1").mkdir(parents=True)
    (cache / "tf-equiv-margins-1" / "tf-equiv-margins.json").write_text(
        json.dumps({CASE: 1000}))
    return repo, cache


def _env(more: dict) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    base.pop("TF_EQUIV_TF1_PYTHON", None)
    return {**base, "PYTHONPATH": os.path.join(ROOT, "checker"), **more}


def act(repo, cache, run_id: int) -> tuple[int, str]:
    """The sentinel dispatched by hand as run `run_id`: (act's exit status, its log)."""
    env = {"SENTINEL_CACHE": str(cache), "SENTINEL_PYTHON_BIN": os.path.join(ROOT, ".venv", "bin"),
           "PYTHONPATH": os.path.join(ROOT, "checker"), "GITHUB_RUN_ID": str(run_id)}
    args = [os.path.join(TOOLS, "act"), "workflow_dispatch", "--workflows",
            ".github/workflows/sentinel.yml", "--platform", "ubuntu-latest=-self-hosted",
            "--action-cache-path", str(cache.parent / "act-cache"), "--no-recurse"]
    for name, value in env.items():
        args += ["--env", f"{name}={value}"]
    proc = subprocess.run(args, cwd=repo, text=True, capture_output=True, timeout=1200,
                          env=_env({"PATH": TOOLS + os.pathsep + os.environ["PATH"]}))
    return proc.returncode, proc.stdout + proc.stderr


def saved(cache, run_id: int) -> dict:
    with open(cache / f"tf-equiv-margins-{run_id}" / "tf-equiv-margins.json") as f:
        return json.load(f)


def test_the_sentinel_is_scheduled_and_checks_against_stored_records_with_margins():
    workflow = documented_workflow()
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    (job,) = workflow["jobs"].values()
    check = next(s["run"] for s in job["steps"] if s.get("id") == "check")
    assert re.search(r'^tf-equiv check "\$MODELS" --against "\$RECORDS" --margins "\$MARGINS"',
                     check)


def test_a_margin_that_shrank_is_a_warning_then_the_next_run_compares_with_it(project):
    repo, cache = project
    status, log = act(repo, cache, 2)
    assert status == 0, log[-8000:]
    assert "cache restored from key: tf-equiv-margins-1" in log, log[-8000:]
    # The annotation on the module, and the job summary's warnings.
    assert re.search(r"::warning file=models/equiv_margin\.py,line=\d+,title=tf-equiv%3A "
                     r"near%3A%3Atransferred_inference::" + re.escape(SHRANK), log), log[-8000:]
    assert f"- `{CASE}`: `{SHRANK}`" in log, log[-8000:]
    assert "Job succeeded" in log
    assert saved(cache, 2) == {CASE: pytest.approx(6.886, abs=1e-3)}

    status, log = act(repo, cache, 3)
    assert status == 0, log[-8000:]
    assert "cache restored from key: tf-equiv-margins-2" in log, log[-8000:]
    assert "margin shrank" not in log, log[-8000:]
    assert saved(cache, 3) == saved(cache, 2)


def test_a_module_changed_since_it_was_recorded_fails_the_run(project):
    repo, cache = project
    with open(repo / "models" / "equiv_margin.py", "a") as f:
        f.write("# changed after the TF1 side was recorded\n")
    git(repo, "commit", "-q", "-am", "change the module")
    status, log = act(repo, cache, 4)
    assert status != 0, log[-8000:]
    assert re.search(r"::error file=models/equiv_margin\.py,.*stale TF1 records", log), \
        log[-8000:]
    assert "Job failed" in log
