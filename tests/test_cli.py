"""The command line: list, exit codes, selection, interruption."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import FIXTURES, ROOT, read_junit, tf_equiv


def test_list_reads_declarations_without_tensorflow():
    started = time.monotonic()
    proc = tf_equiv("list", "tests/fixtures/equiv_renamed.py", "tests/fixtures/equiv_marks.py")
    assert time.monotonic() - started < 10  # generous: no TensorFlow import happens
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "tests/fixtures/equiv_renamed.py::renamed::variables_created_once" in lines
    assert "tests/fixtures/equiv_renamed.py::renamed_mapped::gradients" in lines
    assert "tests/fixtures/equiv_marks.py::xfailing::random_training[constant]" in lines
    assert lines[-1] == "5 pairs, 27 checks in 2 modules"


def test_list_does_not_import_tensorflow():
    code = ("import sys; from tf_equiv.cli import main; sys.argv=['tf-equiv','list','" + FIXTURES
            + "'];\ntry: main()\nexcept SystemExit: pass\nprint('TF', 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.splitlines()[-1] == "TF False"


def test_list_reports_a_module_that_does_not_parse():
    proc = tf_equiv("list", "tests/fixtures/equiv_syntax_error.py")
    assert proc.returncode == 1
    assert "equiv_syntax_error.py: error: SyntaxError: '(' was never closed" in proc.stdout


def test_list_names_modules_whose_pairs_are_made_at_import():
    proc = tf_equiv("list", "tests/fixtures/equiv_factory.py")
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == [
        "tests/fixtures/equiv_factory.py: no `name = Pair(...)` in the source; its pairs are found "
        "when `check` imports it", "0 pairs, 0 checks in 1 modules"]


def test_select_by_check_glob():
    proc = tf_equiv("list", "tests/fixtures/equiv_good.py", "--select", "random_training*")
    assert proc.stdout.splitlines() == [
        "tests/fixtures/equiv_good.py::good::random_training[num_random_ops]",
        "tests/fixtures/equiv_good.py::good::random_training[constant]",
        "1 pairs, 2 checks in 1 modules"]


def test_shards_partition_the_pairs():
    every = set()
    for i in (1, 2, 3):
        out = tf_equiv("list", "tests/fixtures", "--shard", f"{i}/3").stdout.splitlines()[:-1]
        pairs = {line.rsplit("::", 1)[0] for line in out if "::" in line and "error:" not in line}
        assert not pairs & every
        every |= pairs
    whole = tf_equiv("list", "tests/fixtures").stdout.splitlines()[:-1]
    assert every == {line.rsplit("::", 1)[0] for line in whole if "::" in line and "error:" not in line}


def test_usage_errors_exit_2(tmp_path):
    empty = tf_equiv("check", str(tmp_path))
    assert empty.returncode == 2
    assert f"no equiv_*.py modules under {tmp_path}" in empty.stderr
    assert tf_equiv("check", str(tmp_path), "--allow-empty").returncode == 0
    nothing = tf_equiv("check", "tests/fixtures/equiv_good.py", "--select", "nope*")
    assert nothing.returncode == 2 and "--select nope* matches no pair or check" in nothing.stderr
    assert tf_equiv("check", "no/such/path").returncode == 2
    bad_shard = tf_equiv("check", "tests/fixtures", "--shard", "4/3")
    assert bad_shard.returncode == 2 and "I must be between 1 and N" in bad_shard.stderr


@pytest.mark.tensorflow
def test_sigterm_writes_the_report_with_cases_not_run(tmp_path):
    report = tmp_path / "r.xml"
    proc = subprocess.Popen([sys.executable, "-m", "tf_equiv", "check", "--jobs", "1",
                             "tests/fixtures/equiv_crash.py", "--select", "hangs",
                             "--select", "tf1_raises", "--junit-xml", str(report)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(6)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "interrupted: " in out
    cases, _ = read_junit(str(report))
    for case_id in ("tests/fixtures/equiv_crash.py::hangs::constant_inference",
                    "tests/fixtures/equiv_crash.py::tf1_raises::transferred_inference"):
        assert cases[case_id].verdict == "error"
        assert "not run: interrupted" in cases[case_id].message
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tf-equiv-")]


def test_python_m_is_the_same_program():
    proc = subprocess.run([sys.executable, "-m", "tf_equiv", "--version"], capture_output=True,
                          text=True)
    assert proc.stdout.strip() == "tf-equiv, version 0.1.0"
