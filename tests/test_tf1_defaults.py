"""A project file naming the TF1 interpreter (as examples/pyproject.toml names .venv-tf2.15) is
enough for `tf-equiv record --side tf1` and for the pytest plugin to run the Estimator example's
TF1 side under TensorFlow 2.15.1: no `--python`, no `--tf1-python`."""
from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

from conftest import ROOT, check, tf_equiv
from test_modelfn import LEGACY_PYTHON, _legacy_has_estimator, cross_version
from test_pytest_plugin import inner_pytest

CHECKS = ("--select", "variables_match", "--select", "gradients")


def _project(tmp_path) -> str:
    """The Estimator example in a project whose pyproject.toml names the legacy interpreter."""
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(f"{ROOT}/examples/equiv_estimator.py", folder)
    (folder / "pyproject.toml").write_text(f'[tool.tf-equiv]\ntf1-python = "{LEGACY_PYTHON}"\n')
    return str(folder)


@cross_version[0]
@cross_version[1]
def test_record_uses_the_projects_tf1_interpreter(tmp_path):
    _legacy_has_estimator()
    project, store = _project(tmp_path), str(tmp_path / "records")
    recorded = tf_equiv("record", ".", "--side", "tf1", "--out", store, *CHECKS, cwd=project)
    assert recorded.returncode == 0, recorded.stdout[-3000:] + recorded.stderr[-3000:]
    run = check(tmp_path, ".", "--against", store, *CHECKS, cwd=project)
    assert run.returncode == 0, run.stdout[-3000:]
    assert {c.verdict for c in run.cases.values()} == {"passed"} and len(run.cases) == 2
    properties = {p.get("name"): p.get("value")
                  for p in ET.parse(tmp_path / "report.xml").iter("property")}
    assert properties["environment.tf1_tensorflow"].startswith("2.15.")


@cross_version[0]
@cross_version[1]
def test_the_pytest_plugin_runs_an_estimator_pair_under_the_projects_tf1_interpreter(tmp_path):
    _legacy_has_estimator()
    inner = inner_pytest(_project(tmp_path), "-p", "tf_equiv.pytest.plugin", "-k",
                         "variables_match or gradients")
    assert inner.returncode == 0, inner.stdout[-3000:]
    assert {k.split("::")[-1]: o.verdict for k, o in inner.outcomes.items()} == \
        {"variables_match": "passed", "gradients": "passed"}
