"""The command line: list, exit codes, selection, interruption."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import FIXTURES, ROOT, check, read_junit, tf_equiv


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


def test_list_names_a_pair_whose_checks_select_nothing_and_exits_1():
    proc = tf_equiv("list", "tests/fixtures_plan/equiv_literal_checks.py")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    module = "tests/fixtures_plan/equiv_literal_checks.py"
    for line in (
            f"{module}::misspelt_check: error: bad Pair 'misspelt_check': checks: "
            "'constant_inferense' matches no check id (did you mean 'constant_inference'?)",
            f"{module}::string_checks: error: bad Pair 'string_checks': checks: expected a "
            "sequence of check ids or globs, got the string 'variables_match'; write "
            "checks=['variables_match']",
            f"{module}::no_checks: error: bad Pair 'no_checks': checks: expected at least one "
            "check id or glob, got an empty sequence, which runs nothing; leave checks out to "
            "run every check that applies",
            f"{module}::good::variables_match", f"{module}::no_checks::gradients"):
        assert line in lines


@pytest.mark.parametrize("options, message", [
    (["--junit-xml", "{d}/out", "--timings", "{d}/out"],
     "--timings {d}/out: is also the --junit-xml path; each output needs its own path"),
    (["--html", "{d}/out", "--margins", "{d}/out"],
     "--margins {d}/out: is also the --html path; each output needs its own path"),
    (["--junit-xml", "{d}/arrays/r.xml", "--artifacts", "{d}/arrays"],
     "--junit-xml {d}/arrays/r.xml: is inside the --artifacts folder {d}/arrays; put each "
     "output outside the other's folder"),
    (["--artifacts", "{d}/a", "--html", "{d}/a/deeper/page.html"],
     "--html {d}/a/deeper/page.html: is inside the --artifacts folder {d}/a; put each output "
     "outside the other's folder"),
    (["--junit-xml", "{d}/out", "--html", "{d}/./out"],
     "--html {d}/./out: is also the --junit-xml path; each output needs its own path"),
])
def test_two_outputs_at_one_place_are_a_usage_error_naming_both(tmp_path, options, message):
    proc = tf_equiv("check", "tests/fixtures/equiv_good.py",
                    *[o.format(d=tmp_path) for o in options], timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"tf-equiv: error: {message.format(d=tmp_path)}" in proc.stderr
    assert os.listdir(tmp_path) == []


def test_record_and_merge_refuse_two_outputs_at_one_place(tmp_path):
    proc = tf_equiv("record", "tests/fixtures/equiv_good.py", "--side", "tf1", "--out",
                    str(tmp_path / "store"), "--junit-xml", str(tmp_path / "store" / "r.xml"),
                    timeout=60)
    assert proc.returncode == 2
    assert (f"--junit-xml {tmp_path}/store/r.xml: is inside the --out folder {tmp_path}/store"
            in proc.stderr)
    shard = tmp_path / "s1.xml"
    shard.write_text('<testsuites name="tf-equiv"><testsuite name="equiv_a.py" tests="0"/>'
                     "</testsuites>")
    proc = tf_equiv("merge", str(shard), "--junit-xml", str(tmp_path / "m"), "--html",
                    str(tmp_path / "m"), timeout=60)
    assert proc.returncode == 2
    assert f"--html {tmp_path}/m: is also the --junit-xml path" in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["s1.xml"]


#: Each pair of tests/fixtures_plan/equiv_helper_built.py that a helper function builds with a bad
#: field, and the error each of its checks reports; `good` and `looped` beside them pass.
HELPER_BUILT = {
    "bad_rtol": "rtol: expected a non-negative number, got 'tight'",
    "negative_steps": "train.steps: expected a positive integer, got -1",
    "misspelt_field": "tolerence: not a Pair field (did you mean 'tolerances'?)",
    "bad_tolerances": "tolerances: expected a dict {glob: (rtol, atol)}, got 'tight'",
    "misspelt_check": "checks: 'constant_inferense' matches no check id (did you mean "
                      "'constant_inference'?)",
    "string_checks": "checks: expected a sequence of check ids or globs, got the string "
                     "'variables_match'; write checks=['variables_match']",
    "no_checks": "checks: expected at least one check id or glob, got an empty sequence",
}


def _assert_every_pair_reported(cases: dict, prefix: str) -> None:
    for name, problem in HELPER_BUILT.items():
        mine = {k: c for k, c in cases.items() if k.startswith(f"{prefix}::{name}::")}
        assert mine, f"{name} is missing from the report: {sorted(cases)}"
        for case in mine.values():
            assert case.verdict == "error"
            assert case.message.startswith(f"bad Pair {name!r}: {problem}"), case.message
    assert cases[f"{prefix}::good::variables_match"].verdict == "passed"
    assert cases[f"{prefix}::looped::variables_match"].verdict == "passed"
    module = cases[f"{prefix}::<module>"]
    assert module.verdict == "error"
    assert "1 pairs have names that are not Python identifiers: 'not-a-name'" in module.message


@pytest.mark.tensorflow
def test_check_reports_every_pair_a_helper_function_builds(tmp_path):
    run = check(tmp_path, "equiv_helper_built.py", cwd=os.path.join(ROOT, "tests", "fixtures_plan"))
    assert run.returncode == 1, run.stderr
    _assert_every_pair_reported(run.cases, "equiv_helper_built.py")


@pytest.mark.tensorflow
def test_record_reports_every_pair_a_helper_function_builds(tmp_path):
    report = tmp_path / "r.xml"
    proc = tf_equiv("record", "equiv_helper_built.py", "--side", "tf1", "--out",
                    str(tmp_path / "store"), "--junit-xml", str(report),
                    cwd=os.path.join(ROOT, "tests", "fixtures_plan"))
    assert proc.returncode == 1, proc.stderr
    assert "before finishing" not in proc.stdout
    cases, _ = read_junit(str(report))
    _assert_every_pair_reported(cases, "equiv_helper_built.py")
