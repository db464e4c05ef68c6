"""The TF1 side under another interpreter, without TensorFlow: which interpreter applies
(--tf1-python, then TF_EQUIV_TF1_PYTHON, then the nearest pyproject.toml's [tool.tf-equiv]
tf1-python), the usage error of one that does not exist, every TF1-side worker started with it,
and the step-wise run, which needs both sides in one process, not run across versions."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from conftest import ROOT
from test_fast_requests import BLOCKS, spy_workers

from tf_equiv.diagnose import localize as localize_mod
from tf_equiv.errors import UsageError
from tf_equiv.plan.interpreters import tf1_python
from tf_equiv.protocol.settings import PairSettings
from tf_equiv.results import CaseResult
from tf_equiv.run import kernels, sides
from tf_equiv.run.protocol import Environment
from tf_equiv.run.sides import SideRun, SideSpec
from tf_equiv.verdict import steps

TF_EQUIV = [sys.executable, "-m", "tf_equiv"]


def _python(folder) -> str:
    """An executable stand-in for a legacy environment's interpreter."""
    path = folder / "bin" / "python"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def _project(folder, value: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(f'[tool.tf-equiv]\ntf1-python = "{value}"\n')
    return str(folder / "pyproject.toml")


def test_the_flag_wins_over_the_variable_which_wins_over_the_project_file(tmp_path):
    flag, env, project = (_python(tmp_path / n) for n in ("flag", "env", "project"))
    _project(tmp_path / "models", project)
    models = [str(tmp_path / "models")]
    assert tf1_python(flag, models, {"TF_EQUIV_TF1_PYTHON": env}) == flag
    assert tf1_python(None, models, {"TF_EQUIV_TF1_PYTHON": env}) == env
    assert tf1_python(None, models, {}) == project
    # Empty: this interpreter, whatever the project file says (the container images set it so).
    assert tf1_python(None, models, {"TF_EQUIV_TF1_PYTHON": ""}) is None
    assert tf1_python(None, [str(tmp_path)], {}) is None      # no project file above


def test_a_relative_path_is_read_from_the_project_files_folder_not_resolved(tmp_path):
    legacy = _python(tmp_path / "venv")
    os.symlink(legacy, tmp_path / "venv" / "bin" / "python3")
    _project(tmp_path / "repo" / "examples", "../../venv/bin/python3")
    module = tmp_path / "repo" / "examples" / "sub" / "equiv_x.py"
    module.parent.mkdir()
    module.write_text("")
    # Nearest above the checked paths; a link is kept (a venv's python is one).
    assert tf1_python(None, [str(module)], {}) == str(tmp_path / "venv" / "bin" / "python3")


def test_the_nearest_project_file_with_a_tf_equiv_table_applies(tmp_path):
    legacy = _python(tmp_path / "venv")
    _project(tmp_path, legacy)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "pyproject.toml").write_text('[tool.ruff]\nline-length = 100\n')
    assert tf1_python(None, [str(tmp_path / "pkg")], {}) == legacy
    (tmp_path / "pkg" / "pyproject.toml").write_text('[tool.tf-equiv]\n')
    assert tf1_python(None, [str(tmp_path / "pkg")], {}) is None


@pytest.mark.parametrize("how, message", [
    ("flag", "--tf1-python {missing}: no such file: {missing}. Hint: pass the python of an "
             "environment that has the TF1 side's TensorFlow"),
    ("env", "TF_EQUIV_TF1_PYTHON={missing}: no such file: {missing}. Hint: set "
            "TF_EQUIV_TF1_PYTHON to such a python, or to nothing for this one"),
    ("pyproject", "{project} [tool.tf-equiv] tf1-python: no such file: {missing}. Hint: create "
                  "that environment, or set TF_EQUIV_TF1_PYTHON= (empty) to run the TF1 side "
                  "with this interpreter"),
])
def test_an_interpreter_that_does_not_exist_is_a_usage_error_naming_where_it_was_set(
        tmp_path, how, message):
    missing = str(tmp_path / "legacy" / "bin" / "python")
    project = _project(tmp_path / "models", "../legacy/bin/python")
    (tmp_path / "models" / "equiv_x.py").write_text("")
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "checker")}
    env.pop("TF_EQUIV_TF1_PYTHON", None)
    args = [*TF_EQUIV, "check", "models"]
    if how == "flag":
        args += ["--tf1-python", missing]
    elif how == "env":
        env["TF_EQUIV_TF1_PYTHON"] = missing
    proc = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "tf-equiv: error: " + message.format(missing=missing,
                                                                       project=project)


def test_a_setting_that_is_no_path_is_a_usage_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.tf-equiv]\ntf1-python = 3\n")
    with pytest.raises(UsageError, match=r"pyproject.toml \[tool.tf-equiv\] tf1-python: expected "
                                         r"the path of a Python interpreter, got 3"):
        tf1_python(None, [str(tmp_path)], {})


@pytest.fixture
def spawned(monkeypatch):
    """Every worker the parent starts, as (interpreter, request kind and side)."""
    started: list = []

    def seen(python, module, args):
        from tf_equiv.protocol import requests
        request = requests.decode(args[0])
        started.append((python, request.kind, getattr(request, "side", "")))
        return Environment({"tensorflow": "x"})

    spy_workers(monkeypatch, seen)
    return started


def test_every_tf1_side_worker_runs_under_the_tf1_interpreter(spawned, tmp_path):
    spec = SideSpec(BLOCKS, "wrong_block", ("training_run",), str(tmp_path), 30,
                    tf1_python="/legacy/bin/python")
    stop = threading.Event()
    sides.run_sides(spec, stop)
    kernels.KernelRun(spec, ("tf1",), stop).close()
    localize_mod.localize(BLOCKS, "wrong_block", "constant_inference", str(tmp_path), 30,
                          spec.options, spec.python, stop, spec.env, spec.tf1_python)
    assert spawned == [("/legacy/bin/python", "side", "tf1"), (sys.executable, "side", "tf2"),
                       ("/legacy/bin/python", "noise", ""),
                       ("/legacy/bin/python", "localize", "tf1"),
                       (sys.executable, "localize", "tf2")]


def _ran(side: str, version: str) -> SideRun:
    return SideRun(side, [(0.0, Environment({"tensorflow": version}))])


def test_the_steps_are_not_run_across_versions_and_say_which_two(spawned, tmp_path):
    spec = SideSpec(BLOCKS, "b", ("training_run",), str(tmp_path), 30,
                    tf1_python="/legacy/bin/python")
    runs = {"tf1": _ran("tf1", "2.15.1"), "tf2": _ran("tf2", "2.21.0")}
    ran = steps._run(spec, runs, PairSettings(), (3, 5), threading.Event(), 30, str(tmp_path),
                     stored=False)
    assert ran.problem == ("the steps run both sides in one process, and the TF1 side runs "
                           "under TensorFlow 2.15.1 (--tf1-python), the TF2 side under "
                           "TensorFlow 2.21.0")
    assert spawned == []
    case = CaseResult("m.py", "b", "training_run", "failed", "training_run: left its band")
    judged = steps.judge_steps(case, 3, 5, ran)
    assert judged.verdict == "failed"
    assert judged.message.startswith("training_run: left its band. Explanation: not confirmed "
                                     "step by step "
                                     f"({steps.WHY}): the steps run both sides in one process, "
                                     "and the TF1 side runs under TensorFlow 2.15.1")
    # The same interpreter named twice is one TensorFlow: the steps run.
    assert not SideSpec(BLOCKS, "b", (), "", 1, tf1_python=sys.executable).cross_version


def test_a_project_file_that_is_no_toml_is_a_usage_error_naming_it(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.tf-equiv\n")
    with pytest.raises(UsageError, match=r"pyproject.toml: cannot read it for \[tool.tf-equiv\]: "):
        tf1_python(None, [str(tmp_path)], {})
