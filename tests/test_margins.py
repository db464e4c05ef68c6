"""The margin of every pass: the rtol a passing check used over the smallest rtol that would have
passed, in its message and in the JUnit report, and kept by --margins FILE so that a margin that
shrank more than 10x since the last run is said before it becomes a failure."""
from __future__ import annotations

import json
import math
import os

import pytest
from conftest import ROOT, check, tf_equiv

from tf_equiv.report import junit
from tf_equiv.report.read_junit import read_junit
from tf_equiv.results import CaseResult, PairResult, Report
from tf_equiv.verdict.compare import compare_arrays, margin, margin_words
from tf_equiv.verdict.history import read_margins, warn_shrunk, write_margins

NEAR = "equiv_margin.py::near::transferred_inference"


def test_the_margin_is_the_rtol_used_over_the_rtol_needed():
    import numpy as np
    a = np.array([1.0, 2.0, 4.0], np.float32)
    records = [compare_arrays("outputs/a", a, a * np.float32(1 + 2e-7), 1e-6, 0.0),
               compare_arrays("outputs/b", a, a, 1e-6, 0.0)]
    factor, name, rtol, needed = margin(records)
    assert name == "outputs/a" and rtol == 1e-6 and 1.5e-7 < needed < 2.5e-7
    assert factor == pytest.approx(rtol / needed)
    assert margin_words(margin(records)).startswith(f"margin {factor:.1f}x (rtol 1e-06, ")
    # Equal everywhere: no finite margin; exact comparisons (integers): none at all.
    assert margin(records[1:])[0] == math.inf
    assert margin([compare_arrays("ids", np.arange(3), np.arange(3), 1e-6, 0.0)]) is None
    assert margin([]) is None


def _report(margin_value):
    case = CaseResult("models/equiv_net.py", "net", "gradients", "passed", "gradients: 3 records "
                      "match", margin=margin_value)
    return Report((PairResult("models/equiv_net.py", "net", (case,)),), 1.0)


def test_a_margin_that_shrank_tenfold_is_warned_and_the_history_kept(tmp_path):
    path = str(tmp_path / "margins.json")
    write_margins(path, _report(math.inf), {"models/equiv_old.py::old::gradients": 3.0})
    assert read_margins(path) == {"models/equiv_net.py::net::gradients": math.inf,
                                  "models/equiv_old.py::old::gradients": 3.0}
    (case,) = warn_shrunk(_report(40.0), read_margins(path)).cases
    assert case.warnings == ("margin shrank from every record equal or within atol at the last "
                             "run to 40x: still passing, but the numbers moved (a TensorFlow, "
                             "oneDNN or machine change?)",)
    (case,) = warn_shrunk(_report(40.0), {case.id: 800.0}).cases
    assert case.warnings[0].startswith("margin shrank 20x, from 800x at the last run to 40x")
    (case,) = warn_shrunk(_report(40.0), {case.id: 300.0}).cases     # 7.5x: not yet
    assert case.warnings == ()


def test_a_margins_file_that_is_no_history_is_refused(tmp_path):
    path = tmp_path / "margins.json"
    path.write_text('["not", "an", "object"]')
    from tf_equiv.errors import UsageError
    with pytest.raises(UsageError, match=f"--margins {path}: not a JSON object"):
        read_margins(str(path))


def test_a_deeply_nested_margins_file_is_a_usage_error_naming_it(tmp_path):
    path = tmp_path / "margins.json"
    path.write_text('{"equiv_m.py::p::gradients": ' + "[" * 100_000 + "]" * 100_000 + "}")
    from tf_equiv.errors import UsageError
    with pytest.raises(UsageError) as e:
        read_margins(str(path))
    assert str(e.value) == (f"--margins {path}: not a JSON object of check ids to margins "
                            '(numbers or "inf") (nested too deeply)')


def test_check_with_a_deeply_nested_margins_file_exits_2_before_running(tmp_path):
    """Every option file is read before a worker starts: no TensorFlow here."""
    (tmp_path / "equiv_m.py").write_text(
        "import numpy as np\nimport tf_equiv\n\n\ndef tf1(inputs, training):\n    return inputs\n\n\n"
        "p = tf_equiv.Pair(tf1=tf1, tf2=lambda: tf1, inputs=lambda: np.ones(2, np.float32))\n")
    path = tmp_path / "margins.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    proc = tf_equiv("check", str(tmp_path), "--margins", str(path), "--no-github",
                    cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == (f"tf-equiv: error: --margins {path}: not a JSON object of check ids "
                           'to margins (numbers or "inf") (nested too deeply)\n')


def test_margins_go_into_the_junit_report_and_come_back(tmp_path):
    path = str(tmp_path / "report.xml")
    junit.write(_report(42.5), path)
    props = open(path).read()
    assert 'name="margin.net::gradients" value="42.5"' in props
    assert read_junit(path).cases[0].margin == 42.5


@pytest.mark.tensorflow
def test_a_run_says_each_margin_and_warns_when_one_shrank(tmp_path):
    fixtures = os.path.join(ROOT, "tests", "fixtures_truth")
    history = tmp_path / "margins.json"
    first = check(tmp_path, "equiv_margin.py", "--margins", str(history), cwd=fixtures)
    assert first.case(NEAR).verdict == "passed"
    (said,) = [tc.system_out for suite in first.xml for tc in suite]
    assert said.endswith("; margin 6.9x (rtol 1e-06, 1.45e-07 needed at outputs/logits)")
    assert "equiv_margin.py::near  1 passed  (narrowest margin 6.9x: transferred_inference)" \
        in first.stdout
    assert json.loads(history.read_text()) == {
        "equiv_margin.py::near::transferred_inference": pytest.approx(6.886, abs=1e-3)}
    # As if the last run had passed with far more room.
    history.write_text(json.dumps({"equiv_margin.py::near::transferred_inference": 1000}))
    second = check(tmp_path, "equiv_margin.py", "--margins", str(history), cwd=fixtures)
    assert second.returncode == 0
    assert ("equiv_margin.py::near::transferred_inference: margin shrank 145x, from 1000x at the "
            "last run to 6.9x") in second.stdout
