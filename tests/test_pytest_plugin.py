"""The pytest plugin, driven by the real pytest in a subprocess on copies of a few fixtures."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pytest
from conftest import FIXTURES
from junitparser import Failure, JUnitXml, Skipped

PLUGIN = ("-p", "tf_equiv.pytest.plugin")
WEAK = '''"""Inputs of ones at a constant reset: every output is one value (a weak comparison)."""
import numpy as np

import tf_equiv
from _models import mlp, shim

weak = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=lambda: np.ones((4, 6), np.float32),
                     checks=["constant_inference"])
'''


@dataclass
class Outcome:
    outcome: str         # passed, failed, skipped, xfailed (as pytest's JUnit XML says)
    verdict: str         # the tf_equiv_verdict property
    message: str
    text: str
    properties: list


@dataclass
class Inner:
    returncode: int
    stdout: str
    outcomes: dict       # "equiv_x.py::pair::check" -> Outcome


def folder(tmp_path, *fixtures: str) -> str:
    """A folder holding copies of some fixtures and the model they import."""
    for name in ("_models.py", *fixtures):
        shutil.copy(os.path.join(FIXTURES, name), tmp_path / name)
    return str(tmp_path)


def inner_pytest(cwd: str, *args: str) -> Inner:
    """Run the real pytest in `cwd`; read back the outcome of each test from its JUnit XML."""
    report = os.path.join(cwd, "inner.xml")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                           f"--junitxml={report}", "--tf-equiv-no-explain", *args], cwd=cwd,
                          env=env, text=True,
                          capture_output=True, timeout=600)
    outcomes = {}
    for suite in JUnitXml.fromfile(report) if os.path.exists(report) else ():
        for tc in suite:
            module, _, rest = tc.classname.partition(".")
            result = tc.result[0] if tc.result else None
            outcome = ("failed" if isinstance(result, Failure)
                       else ("xfailed" if result.type == "pytest.xfail" else "skipped")
                       if isinstance(result, Skipped) else "passed")
            properties = [(p.get("name"), p.get("value")) for p in tc._elem.iter("property")]
            outcomes["::".join(filter(None, (f"{module}.py", rest, tc.name)))] = Outcome(
                outcome, dict(properties).get("tf_equiv_verdict", ""),
                (result.message or "") if result is not None else "",
                (result.text or "") if result is not None else "", properties)
    return Inner(proc.returncode, proc.stdout + proc.stderr, outcomes)


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory) -> Inner:
    """One `pytest -p tf_equiv.pytest.plugin` run over a pass with a warning, a drift, marks, a
    syntax error and a module whose pair is made at import time; -k narrows the skipped pair."""
    tmp = tmp_path_factory.mktemp("plugin")
    (tmp / "equiv_weak.py").write_text(WEAK)
    cwd = folder(tmp, "equiv_drift.py", "equiv_marks.py", "equiv_syntax_error.py",
                 "equiv_factory.py")
    return inner_pytest(cwd, *PLUGIN, "-k", "not skipped or variables")


@pytest.mark.tensorflow
def test_one_test_per_pair_and_check_and_k_selects(plugin_run):
    assert sorted(plugin_run.outcomes) == [
        "equiv_drift.py::drift::constant_inference", "equiv_drift.py::drift::tf_function",
        "equiv_drift.py::drift::transferred_inference",
        "equiv_factory.py::from_factory::variables_match",
        "equiv_marks.py::skipped::variables_created_once",
        "equiv_marks.py::skipped::variables_match",
        "equiv_marks.py::xfailing::random_training[constant]",
        "equiv_marks.py::xpassing::variables_match", "equiv_syntax_error.py::<module>",
        "equiv_weak.py::weak::constant_inference"]
    assert plugin_run.outcomes["equiv_factory.py::from_factory::variables_match"].outcome == \
        "passed"
    assert "9 deselected" in plugin_run.stdout
    assert plugin_run.returncode == 1


@pytest.mark.tensorflow
def test_warnings_are_shown(plugin_run):
    case = plugin_run.outcomes["equiv_weak.py::weak::constant_inference"]
    assert (case.outcome, case.verdict) == ("passed", "passed")
    warning = ("weak comparison: 2 records have every element equal to one value on both sides: "
               "outputs/hidden, outputs/logits")
    assert ("tf_equiv_warning", warning) in case.properties
    assert f"equiv_weak.py:7: TfEquivWarning: {warning}" in plugin_run.stdout


@pytest.mark.tensorflow
def test_failure_shows_the_statistics_not_a_traceback(plugin_run):
    for check in ("constant_inference", "transferred_inference"):
        case = plugin_run.outcomes[f"equiv_drift.py::drift::{check}"]
        assert (case.outcome, case.verdict) == ("failed", "failed")
        assert case.message.startswith(
            f"{check}: first divergence in forward order: outputs/logits")
        assert "rtol needed" in case.text and case.text.endswith("equiv_drift.py:11: failed")
    assert "tf_equiv/pytest/plugin.py" not in plugin_run.stdout
    assert "FAILED equiv_drift.py::drift::transferred_inference - transferred_inference: " \
        in plugin_run.stdout


@pytest.mark.tensorflow
def test_marks_become_skip_xfail_and_xpass(plugin_run):
    skipped = {k: o for k, o in plugin_run.outcomes.items() if "::skipped::" in k}
    assert {(o.outcome, o.message) for o in skipped.values()} == {("skipped", "needs a GPU")}
    assert "SKIPPED [2] equiv_marks.py:7: needs a GPU" in plugin_run.stdout
    xfailing = plugin_run.outcomes["equiv_marks.py::xfailing::random_training[constant]"]
    assert (xfailing.outcome, xfailing.verdict) == ("xfailed", "xfailed")
    assert xfailing.message.startswith("xfailed (dropout rate not migrated yet): random_training")
    xpassing = plugin_run.outcomes["equiv_marks.py::xpassing::variables_match"]
    assert (xpassing.outcome, xpassing.verdict) == ("passed", "xpassed")
    assert "XPASS equiv_marks.py::xpassing::variables_match - xpassed (thought to be broken)" \
        in plugin_run.stdout


@pytest.mark.tensorflow
def test_unparsable_module_is_one_failing_test(plugin_run):
    case = plugin_run.outcomes["equiv_syntax_error.py::<module>"]
    assert (case.outcome, case.verdict) == ("failed", "error")
    assert case.message == ("error: SyntaxError: '(' was never closed "
                            "(equiv_syntax_error.py, line 4, column 23)")


def test_flag_loads_the_plugin(tmp_path):
    cwd = folder(tmp_path, "equiv_marks.py", "equiv_syntax_error.py")
    run = inner_pytest(cwd, "--tf-equiv", "-k", "not xfailing and not xpassing")
    assert len(run.outcomes) == 12, run.stdout
    assert run.outcomes["equiv_syntax_error.py::<module>"].outcome == "failed"
    assert run.outcomes["equiv_marks.py::skipped::gradients"].outcome == "skipped"


@pytest.mark.tensorflow
def test_error_verdict_options_and_x_with_both_ways_of_loading(tmp_path):
    run = inner_pytest(folder(tmp_path, "equiv_drift.py"), *PLUGIN, "--tf-equiv", "-x",
                     "--tf-equiv-timeout", "0.01", "--tf-equiv-no-compat-fixes")
    assert "collected 3 items" in run.stdout         # not twice over
    assert "stopping after 1 failures" in run.stdout
    assert list(run.outcomes) == ["equiv_drift.py::drift::constant_inference"]
    case = run.outcomes["equiv_drift.py::drift::constant_inference"]
    assert (case.outcome, case.verdict) == ("failed", "error")
    assert case.message.startswith("error: constant_inference: TF1 side timed out after 0.01 s")


def test_plain_pytest_collects_no_equiv_module(tmp_path):
    cwd = folder(tmp_path, "equiv_good.py", "equiv_syntax_error.py")
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    pass\n")
    run = inner_pytest(cwd)
    assert list(run.outcomes) == ["test_plain.py::test_plain"], run.stdout
    assert run.returncode == 0


def test_bad_timeout_is_a_usage_error(tmp_path):
    run = inner_pytest(str(tmp_path), "--tf-equiv", "--tf-equiv-timeout", "0")
    assert run.returncode == 4
    assert "--tf-equiv-timeout: expected a positive number of seconds, got 0" in run.stdout


@pytest.mark.tensorflow
def test_pairs_built_by_a_helper_beside_a_literal_one_are_each_a_test(tmp_path):
    plan = os.path.join(os.path.dirname(FIXTURES), "fixtures_plan")
    for name in ("_models.py", "equiv_helper_built.py"):
        shutil.copy(os.path.join(plan, name), tmp_path / name)
    run = inner_pytest(str(tmp_path), *PLUGIN)
    module = "equiv_helper_built.py"
    assert run.outcomes[f"{module}::good::variables_match"].outcome == "passed", run.stdout
    assert run.outcomes[f"{module}::looped::variables_match"].outcome == "passed", run.stdout
    case = run.outcomes[f"{module}::misspelt_check::variables_match"]
    assert (case.outcome, case.verdict) == ("failed", "error")
    assert "did you mean 'constant_inference'?" in case.message
    case = run.outcomes[f"{module}::bad_rtol::variables_match"]
    assert (case.outcome, case.verdict) == ("failed", "error") and "rtol" in case.message
    assert run.outcomes[f"{module}::<module>"].outcome == "failed"
    assert "'not-a-name'" in run.outcomes[f"{module}::<module>"].message
    assert run.returncode == 1
