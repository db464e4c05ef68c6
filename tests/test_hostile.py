"""Careless or hostile input: odd inputs and outputs, names that look like paths, processes left
behind, reports that would overwrite the user's files, non-finite options."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import uuid

import pytest
from conftest import FIXTURES, ROOT, check, processes_with, tf_equiv

HOSTILE = os.path.join(ROOT, "tests", "fixtures_truth")
MODULES = ("equiv_odd_inputs.py", "equiv_strings.py", "equiv_spawns.py", "equiv_odd_names.py")


def _sleepers() -> list:
    found = subprocess.run(["pgrep", "-f", "sleep 4321"], capture_output=True, text=True)
    return found.stdout.split()


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    for pid in _sleepers():
        subprocess.run(["kill", "-9", pid])
    return check(tmp_path_factory.mktemp("hostile"), *MODULES, cwd=HOSTILE)


@pytest.mark.tensorflow
def test_inputs_that_are_no_arrays_name_the_field(hostile_run):
    case = hostile_run.case("equiv_odd_inputs.py::generator_inputs::transferred_inference")
    assert case.verdict == "error"
    assert ("inputs: expected arrays or a nested structure of arrays (tuples, lists, dicts), "
            "got generator") in case.message
    case = hostile_run.case("equiv_odd_inputs.py::object_inputs::transferred_inference")
    assert "inputs: expected arrays or a nested structure of arrays" in case.message
    assert "got object at inputs/x" in case.message


@pytest.mark.tensorflow
def test_string_outputs_are_compared_exactly_and_keep_the_other_checks(hostile_run):
    assert hostile_run.verdicts("equiv_strings.py::same_strings") == {
        "variables_match": "passed", "transferred_inference": "passed", "gradients": "passed"}
    case = hostile_run.case("equiv_strings.py::other_strings::transferred_inference")
    assert case.verdict == "failed"
    assert "outputs/label: values differ" in case.message
    assert hostile_run.case("equiv_strings.py::other_strings::variables_match").verdict == "passed"


@pytest.mark.tensorflow
def test_a_process_started_by_user_code_ends_with_its_side(hostile_run):
    assert hostile_run.case("equiv_spawns.py::spawns::variables_match").verdict == "passed"
    assert _sleepers() == []


@pytest.mark.tensorflow
def test_pair_names_that_are_no_identifiers_are_refused_and_never_paths(hostile_run):
    case = hostile_run.case("equiv_odd_names.py::<module>")
    assert case.verdict == "error"
    assert ("2 pairs have names that are not Python identifiers: '/tf-equiv-escape', "
            "'../tf-equiv-up'") in case.message
    assert hostile_run.case("equiv_odd_names.py::fine::variables_match").verdict == "passed"
    assert not glob.glob("/tf-equiv-escape*")
    assert not glob.glob(os.path.join(os.path.dirname(HOSTILE), "tf-equiv-up*"))


def _with_argument(mark: str) -> list:
    """The processes that have `mark` among their arguments."""
    return processes_with(mark)


@pytest.mark.tensorflow
def test_a_process_in_a_session_of_its_own_ends_with_its_side(tmp_path):
    """`subprocess.Popen([...], start_new_session=True)` leaves the side's process group: it
    still ends with the side, whether the side finished or was killed at its timeout."""
    mark = f"0.{uuid.uuid4().int % 10**12:012d}"      # a number, for `sleep 300 MARK`
    pids = tmp_path / "pids"
    run = check(tmp_path, os.path.join(ROOT, "tests", "fixtures_isolation",
                                       "equiv_new_session.py"),
                env={"TF_EQUIV_TEST_MARK": mark, "TF_EQUIV_TEST_PIDS": str(pids)})
    prefix = "tests/fixtures_isolation/equiv_new_session.py::"
    try:
        assert run.case(prefix + "escapes::variables_match").verdict == "passed"
        hangs = run.case(prefix + "escapes_and_hangs::variables_match")
        assert hangs.verdict == "error" and "TF1 side timed out after 15 s" in hangs.message
        assert len(pids.read_text().split()) == 2, "the pairs started no process"
        assert _with_argument(mark) == [], "a process of the pair's code outlived the run"
    finally:
        for pid in _with_argument(mark):
            subprocess.run(["kill", "-9", pid])


def test_the_report_never_replaces_a_module_being_checked(tmp_path):
    module = tmp_path / "equiv_base.py"
    shutil.copy(os.path.join(FIXTURES, "equiv_good.py"), module)
    before = module.read_text()
    proc = tf_equiv("check", str(tmp_path), "--junit-xml", str(module), timeout=60)
    assert proc.returncode == 2
    assert f"--junit-xml {module}: that is the module being checked" in proc.stderr
    assert module.read_text() == before


def test_merge_never_replaces_one_of_its_inputs(tmp_path):
    report = tmp_path / "s1.xml"
    report.write_text('<testsuites name="tf-equiv"><testsuite name="equiv_a.py" tests="0"/>'
                      "</testsuites>")
    before = report.read_text()
    proc = tf_equiv("merge", str(report), "--junit-xml", str(report), timeout=60)
    assert proc.returncode == 2
    assert f"--junit-xml {report}: that is the input report {report}" in proc.stderr
    assert report.read_text() == before


def test_an_existing_file_that_is_no_report_of_ours_is_kept(tmp_path):
    notes = tmp_path / "notes.xml"
    notes.write_text("<notes>mine</notes>")
    proc = tf_equiv("check", os.path.join(FIXTURES, "equiv_good.py"), "--junit-xml", str(notes),
                    timeout=60)
    assert proc.returncode == 2
    assert "exists and is not a tf-equiv report; tf-equiv replaces only reports it wrote" \
        in proc.stderr
    assert notes.read_text() == "<notes>mine</notes>"


def test_an_unwritable_report_is_found_before_any_pair_runs(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        probe = folder / "probe"
        try:
            probe.write_text("")
            pytest.skip("this user writes into read-only folders (root without the check)")
        except OSError:
            pass
        proc = tf_equiv("check", os.path.join(FIXTURES, "equiv_good.py"), "--junit-xml",
                        str(folder / "r.xml"), timeout=60)
    finally:
        folder.chmod(0o700)
    assert proc.returncode == 2
    assert "cannot be written" in proc.stderr and "Traceback" not in proc.stderr


def _check_with_immutable(path, option: str) -> subprocess.CompletedProcess:
    """`check` of a correct pair, `option` naming `path` made immutable (chattr +i) meanwhile."""
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        return tf_equiv("check", os.path.join(FIXTURES, "equiv_good.py"), option, str(path),
                        timeout=60)
    finally:
        subprocess.run(["chattr", "-i", str(path)])


def test_an_immutable_report_is_found_before_any_pair_runs(tmp_path):
    report = tmp_path / "r.xml"
    report.write_text('<testsuites name="tf-equiv"></testsuites>')
    proc = _check_with_immutable(report, "--junit-xml")
    assert proc.returncode == 2
    assert f"--junit-xml {report}: cannot be written" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_malformed_timings_file_is_found_before_any_pair_runs(tmp_path):
    timings = tmp_path / "t.json"
    timings.write_text("{not json")
    proc = tf_equiv("check", os.path.join(FIXTURES, "equiv_good.py"), "--timings", str(timings),
                    timeout=60)
    assert proc.returncode == 2
    assert f"--timings {timings}: not a JSON object" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_timeout_must_be_finite(value):
    proc = tf_equiv("check", os.path.join(FIXTURES, "equiv_good.py"), "--timeout", value,
                    timeout=60)
    assert proc.returncode == 2
    assert "expected a finite number of seconds" in proc.stderr or "not in the range" \
        in proc.stderr


def test_an_unwritable_timings_file_is_found_before_any_pair_runs(tmp_path):
    timings = tmp_path / "t.json"
    timings.write_text("{}")
    proc = _check_with_immutable(timings, "--timings")
    assert proc.returncode == 2
    assert f"--timings {timings}: cannot be written" in proc.stderr
    assert "Traceback" not in proc.stderr and "passed" not in proc.stdout


def test_timings_never_replace_the_module_being_checked():
    module = os.path.join(FIXTURES, "equiv_good.py")
    before = open(module).read()
    proc = tf_equiv("check", module, "--timings", module, timeout=60)
    assert proc.returncode == 2
    assert "that is the module being checked" in proc.stderr
    assert open(module).read() == before


@pytest.mark.tensorflow
def test_a_process_started_by_user_code_ends_with_the_explanation_and_localization(tmp_path):
    run = check(tmp_path, "equiv_spawns_failing.py", cwd=HOSTILE, explain=True)
    case = run.case("equiv_spawns_failing.py::spawns_and_fails::transferred_inference")
    assert case.verdict == "failed"
    assert "Localization" in case.text or "localiz" in case.text.lower(), case.text[-2000:]
    left = subprocess.run(["pgrep", "-f", "sleep 4322"], capture_output=True, text=True)
    assert left.stdout.split() == []


def test_an_artifacts_folder_that_cannot_be_written_is_found_before_any_pair_runs(tmp_path):
    folder = tmp_path / "artifacts"
    folder.mkdir()
    proc = _check_with_immutable(folder, "--artifacts")
    assert proc.returncode == 2
    assert f"--artifacts {folder}: cannot be written" in proc.stderr
    assert "Traceback" not in proc.stderr and os.listdir(folder) == []
