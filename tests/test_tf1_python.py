"""`check --tf1-python`: the Estimator example checked in one command, its TF1 side under
TensorFlow 2.15.1 (.venv-tf2.15, made by .ci/setup-legacy) and its TF2 side under the current
TensorFlow, the report naming both."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from conftest import check
from test_modelfn import LEGACY_PYTHON, _legacy_has_estimator, cross_version


@cross_version[0]
@cross_version[1]
@pytest.mark.parametrize("onednn", ["1", "0"])
def test_the_estimator_example_passes_in_one_command_across_versions(tmp_path, onednn):
    """With oneDNN's kernels on and off (both interpreters read the variable)."""
    _legacy_has_estimator()
    run = check(tmp_path, "examples/equiv_estimator.py", "--tf1-python", LEGACY_PYTHON,
                env={"TF_EQUIV_TF1_PYTHON": "", "TF_ENABLE_ONEDNN_OPTS": onednn})
    assert run.returncode == 0, run.stdout[-3000:]
    verdicts = {k.split("::")[-1]: c.verdict for k, c in run.cases.items()}
    assert set(verdicts.values()) == {"passed"} and len(verdicts) == 13
    for name in ("gradients", "optimizer_steps", "random_training[constant]", "training_run"):
        assert verdicts[name] == "passed"
    properties = {p.get("name"): p.get("value")
                  for p in ET.parse(tmp_path / "report.xml").iter("property")}
    assert properties["environment.tf1_tensorflow"].startswith("2.15.")
    assert properties["environment.tensorflow"].startswith("2.21.")


@cross_version[0]
@cross_version[1]
def test_the_examples_project_file_names_the_legacy_interpreter(tmp_path):
    """`tf-equiv check examples/equiv_estimator.py`, no flag: examples/pyproject.toml applies."""
    _legacy_has_estimator()
    run = check(tmp_path, "examples/equiv_estimator.py", "--select", "variables_match")
    assert run.returncode == 0, run.stdout[-3000:]
    assert run.case("examples/equiv_estimator.py::estimator::variables_match").verdict == "passed"
