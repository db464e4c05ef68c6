"""The project's TF1 interpreter (TF_EQUIV_TF1_PYTHON, [tool.tf-equiv] tf1-python) is honoured by
`tf-equiv record --side tf1` (unless `--python` names one) and by the pytest plugin (unless
`--tf-equiv-tf1-python` names one), as by `tf-equiv check`. Without TensorFlow: the legacy
interpreter is a stand-in that notes it was started and exits 3, which the side reports."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import FIXTURES, ROOT

MESSAGE = "TF1 side exited with status 3 before finishing"


def _stand_in(folder) -> str:
    """An interpreter that writes its own path into `ran` next to it, then exits 3."""
    path = folder / "bin" / "python"
    path.parent.mkdir(parents=True)
    path.write_text('#!/bin/sh\necho "$0" >> "$(dirname "$0")/ran"\nexit 3\n')
    path.chmod(0o755)
    return str(path)


def _ran(python: str) -> bool:
    return os.path.exists(os.path.join(os.path.dirname(python), "ran"))


@pytest.fixture
def project(tmp_path):
    """A project whose pyproject.toml names `legacy/bin/python`, with one pair in models/."""
    (tmp_path / "models").mkdir()
    for name in ("equiv_drift.py", "_models.py"):
        shutil.copy(os.path.join(FIXTURES, name), tmp_path / "models" / name)
    (tmp_path / "pyproject.toml").write_text('[tool.tf-equiv]\ntf1-python = "legacy/bin/python"\n')
    return tmp_path


def _run(cwd, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("TF_EQUIV_TF1_PYTHON", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, (os.environ.get("PYTHONPATH"), os.path.join(ROOT, "checker"))))
    return subprocess.run([sys.executable, *args], cwd=cwd, env={**environ, **env},
                          capture_output=True, text=True, timeout=300)


RECORD = ("-m", "tf_equiv", "record", "models", "--side", "tf1", "--out", "records")
PYTEST = ("-m", "pytest", "-p", "no:cacheprovider", "-p", "tf_equiv.pytest.plugin",
          "--tf-equiv-no-explain", "-q", "models")


@pytest.mark.parametrize("command", [RECORD, PYTEST], ids=["record", "pytest"])
def test_the_project_file_names_the_tf1_interpreter(project, command):
    legacy = _stand_in(project / "legacy")
    run = _run(project, *command)
    assert run.returncode == 1, run.stdout + run.stderr
    assert MESSAGE in run.stdout, run.stdout
    assert _ran(legacy)


@pytest.mark.parametrize("command", [RECORD, PYTEST], ids=["record", "pytest"])
def test_the_variable_wins_over_the_project_file(project, command):
    legacy, other = _stand_in(project / "legacy"), _stand_in(project / "other")
    run = _run(project, *command, TF_EQUIV_TF1_PYTHON=other)
    assert MESSAGE in run.stdout, run.stdout
    assert _ran(other) and not _ran(legacy)


@pytest.mark.parametrize("command, flag", [(RECORD, "--python"), (PYTEST, "--tf-equiv-tf1-python")],
                         ids=["record", "pytest"])
def test_the_commands_own_option_wins(project, command, flag):
    legacy, other, chosen = (_stand_in(project / n) for n in ("legacy", "other", "chosen"))
    run = _run(project, *command, flag, chosen, TF_EQUIV_TF1_PYTHON=other)
    assert MESSAGE in run.stdout, run.stdout
    assert _ran(chosen) and not _ran(other) and not _ran(legacy)


@pytest.mark.parametrize("command, status", [(RECORD, 2), (PYTEST, 4)], ids=["record", "pytest"])
def test_a_project_interpreter_that_does_not_exist_is_a_usage_error(project, command, status):
    run = _run(project, *command)
    assert run.returncode == status, run.stdout + run.stderr
    missing = project / "legacy" / "bin" / "python"
    assert (f"tf-equiv: {'error: ' if command is RECORD else ''}{project / 'pyproject.toml'} "
            f"[tool.tf-equiv] tf1-python: no such file: {missing}. Hint: create that "
            "environment, or set TF_EQUIV_TF1_PYTHON= (empty) to run the TF1 side with this "
            "interpreter") in run.stderr
    assert not (project / "records").exists()
