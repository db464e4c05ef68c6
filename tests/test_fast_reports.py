"""The reporters on results made by hand: the JUnit XML a CI reads (read back by junitparser and
by `tf-equiv merge`'s reader), the terminal's progress lines, failures and total, GitHub's
annotations, fenced log, job summary and step outputs, and where a report may be written.
No TensorFlow and no subprocess here."""
from __future__ import annotations

import io
import json
import os
import re

import numpy as np
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from tf_equiv.errors import UsageError
from tf_equiv.plan.destinations import check_report_path
from tf_equiv.report import github, html, junit, terminal
from tf_equiv.report.read_junit import read_junit
from tf_equiv.results import MODULE_CASE, CaseResult, PairResult, Report, diagnosis
from tf_equiv.verdict.compare import compare_arrays

MODULE = "models/equiv_net.py"
ENV = {"python": "3.11.7", "tensorflow": "2.21.0", "device": "CPU (x86_64)"}
CRASH = "TF2 side was killed by SIGSEGV (exit status -11)"
COMMAND = re.compile(r"^::([a-z-]+)( [^:]*)?::(.*)$")


@pytest.fixture(autouse=True)
def not_on_a_runner(monkeypatch):
    """As on a developer's machine, also when these tests run on GitHub Actions."""
    for name in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)


def case(check: str, verdict: str, message: str, pair: str = "net", module: str = MODULE,
         **kw) -> CaseResult:
    kw.setdefault("line", 7)
    kw.setdefault("words", said(check, message))
    return CaseResult(module, pair, check, verdict, message, **kw)


def said(check: str, message: str) -> str:
    """CaseResult.words of a message led by its check's id, as the checker builds it."""
    return message[len(check) + 2:] if message.startswith(f"{check}: ") else ""


def endpoints(*values: tuple) -> tuple:
    """Output records in forward order: TF1 all ones, TF2 the given value per endpoint."""
    return tuple(compare_arrays(f"outputs/{name}", np.ones(3, np.float32),
                                np.full(3, value, np.float32), 1e-6, 1e-5)
                 for name, value in values)


def module_error(module: str = "equiv_broken.py") -> PairResult:
    return PairResult(module, MODULE_CASE, (CaseResult(
        module, MODULE_CASE, MODULE_CASE, "error",
        f"{module}: SyntaxError: invalid syntax ({module}, line 3)", line=3),))


def every_verdict() -> Report:
    """One pair with a case of each verdict, and a module that did not parse."""
    net = PairResult(MODULE, "net", (
        case("variables_match", "passed", "variables_match: 4 variables match", duration=0.1234,
             warnings=("weak comparison: 1 records have every element equal: outputs/p",)),
        case("transferred_inference", "failed",
             "transferred_inference: first divergence in forward order: outputs/b",
             detail="record     shape\noutputs/b  (3,)", duration=1.5,
             records=endpoints(("a", 1.0), ("b", 1.03), ("c", 1.5))),
        case("gradients", "error", f"gradients: {CRASH}",
             detail='last 1 lines of its output:\nnative code <&> "crashed"'),
        case("tf_function", "skipped", "needs a GPU", line=0),
        case("random_training[constant]", "xfailed",
             "xfailed (dropout not migrated): random_training[constant]: differs"),
        case("constant_inference", "xpassed",
             "xpassed (thought broken): constant_inference: 3 records match"),
    ), duration=2.0, environment=ENV,
        compat_fixes=("tf_slim_collection_identity", "legacy_tf_layers_alias"),
        tolerances={"rtol": 1e-3, "atol": None, "gradients/*": (1e-4, 1e-4)})
    return Report((net, module_error()), 12.3456)


def written(tmp_path, report: Report, name: str = "report.xml") -> str:
    path = str(tmp_path / name)
    junit.write(report, path)
    return path


def final(report: Report, **kw) -> str:
    stream = io.StringIO()
    terminal.final(report, stream, **kw)
    return stream.getvalue()


def runner_commands(stdout: str) -> list:
    """The workflow commands an Actions runner acts on (`::stop-commands::T` until `::T::`)."""
    seen, stopped_by = [], None
    for line in stdout.splitlines():
        if stopped_by:
            if line.strip() == f"::{stopped_by}::":
                stopped_by = None
            continue
        match = COMMAND.match(line.strip())
        if match and match.group(1) == "stop-commands":
            stopped_by = match.group(3)
        elif match:
            seen.append((match.group(1), match.group(2) or "", match.group(3)))
    return seen


# ---- JUnit XML ---------------------------------------------------------------------------------

def test_junit_has_a_suite_per_module_and_a_case_per_check(tmp_path):
    xml = JUnitXml.fromfile(written(tmp_path, every_verdict()))
    assert xml.name == "tf-equiv"
    assert xml.time == pytest.approx(12.346)     # the run's wall time, not the cases' sum
    net, broken = list(xml)
    assert (net.name, broken.name) == (MODULE, "equiv_broken.py")
    assert (net.tests, net.failures, net.errors, net.skipped) == (6, 1, 1, 2)
    assert [tc.name for tc in net] == [
        "net::variables_match", "net::transferred_inference", "net::gradients",
        "net::tf_function", "net::random_training[constant]", "net::constant_inference"]
    assert {tc.classname for tc in net} == {"models.equiv_net"}
    first = next(iter(net))
    assert (first._elem.get("file"), first._elem.get("line")) == (MODULE, "7")
    assert first.time == pytest.approx(0.123)
    (syntax,) = list(broken)
    assert (syntax.name, syntax.classname, syntax._elem.get("line")) == \
        ("<module>", "equiv_broken", "3")
    assert isinstance(syntax.result[0], Error)
    assert syntax.result[0].message.startswith("equiv_broken.py: SyntaxError: invalid syntax")


def test_each_verdict_is_the_element_junit_readers_expect(tmp_path):
    xml = JUnitXml.fromfile(written(tmp_path, every_verdict()))
    cases = {tc.name.split("::")[1]: tc for tc in next(iter(xml))}
    failure = cases["transferred_inference"].result[0]
    assert isinstance(failure, Failure)
    assert failure.message == "transferred_inference: first divergence in forward order: outputs/b"
    # The body tells the pair's diagnosis in a few lines, then the check's statistics.
    assert failure.text == failure.message + (
        "\n\ndiagnosis of the pair: the sides part first at outputs/b\n"
        "  checks: transferred_inference\n"
        "  next: run with explanations (the default) to tell numerics from a bug"
        "\n\nrecord     shape\noutputs/b  (3,)")
    error = cases["gradients"].result[0]
    assert isinstance(error, Error) and error.message == f"gradients: {CRASH}"
    assert error.text.endswith('native code <&> "crashed"')       # escaped, and read back
    skipped = cases["tf_function"].result[0]
    assert isinstance(skipped, Skipped) and skipped.message == "needs a GPU"
    assert cases["tf_function"]._elem.get("line") is None
    xfailed = cases["random_training[constant]"].result[0]
    assert isinstance(xfailed, Skipped)
    assert xfailed.message.startswith("xfailed (dropout not migrated): ")
    # Passing cases have no result element: system-out carries the message and the warnings.
    assert cases["variables_match"].result == []
    assert cases["variables_match"].system_out == (
        "variables_match: 4 variables match\n\n"
        "warning: weak comparison: 1 records have every element equal: outputs/p")
    assert cases["constant_inference"].result == []
    assert cases["constant_inference"].system_out.startswith("xpassed (thought broken): ")


def test_junit_properties_hold_environment_fixes_and_tolerances(tmp_path):
    other = PairResult(MODULE, "other", (case("gradients", "passed", "ok", pair="other"),),
                       environment=ENV, compat_fixes=("graph_build_fast_path",),
                       tolerances={"rtol": 0.0, "atol": 1e-4})
    report = every_verdict()
    report = Report((report.pairs[0], other, report.pairs[1]), 1.0)
    net, broken = list(JUnitXml.fromfile(written(tmp_path, report)))
    props = {p.name: p.value for p in net.properties()}
    # A failing check keeps its endpoints, for the charts of a report made from this file.
    kept = json.loads(props.pop("records.net::transferred_inference"))
    assert [(r["name"], r["passed"]) for r in kept] == [
        ("outputs/a", True), ("outputs/b", False), ("outputs/c", False)]
    assert props == {
        "environment.python": "3.11.7", "environment.tensorflow": "2.21.0",
        "environment.device": "CPU (x86_64)",
        # The union over the module's pairs, in the order they were first applied.
        "compat_fixes": "tf_slim_collection_identity,legacy_tf_layers_alias,graph_build_fast_path",
        "net.rtol": "0.001", "net.tolerances[gradients/*]": "(0.0001, 0.0001)",
        "other.rtol": "0.0", "other.atol": "0.0001"}   # net's atol was None: not written
    assert [p.name for p in broken.properties()] == []


def test_text_from_a_crashed_side_keeps_the_report_readable(tmp_path):
    # Terminal colours and control characters from native code are not XML; markup is escaped.
    message = "gradients: \x1b[31mTF2 side\x1b[0m <crashed> & ü\x00\x07"
    report = Report((PairResult("equiv_x.py", "p", (
        case("gradients", "error", message, pair="p", module="equiv_x.py"),)),), 1.0)
    path = written(tmp_path, report)
    (tc,) = [tc for suite in JUnitXml.fromfile(path) for tc in suite]
    read = tc.result[0].message
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", read)
    assert "TF2 side" in read and "<crashed> & ü" in read
    assert read_junit(path).cases[0].message == read


def test_an_empty_run_writes_a_report_readers_accept(tmp_path):
    path = written(tmp_path, Report((), 0.5))
    xml = JUnitXml.fromfile(path)
    (suite,) = list(xml)
    assert (suite.name, suite.tests) == ("tf-equiv", 0)
    assert read_junit(path) == Report((), 0.5)
    check_report_path("--junit-xml", path)       # and the next run may replace it


def test_a_report_is_replaced_whole_and_leaves_no_temporary_file(tmp_path):
    path = str(tmp_path / "new" / "folder" / "report.xml")
    junit.write(every_verdict(), path)
    junit.write(Report((module_error("equiv_other.py"),), 1.0), path)
    assert os.listdir(tmp_path / "new" / "folder") == ["report.xml"]
    assert [s.name for s in JUnitXml.fromfile(path)] == ["equiv_other.py"]


# ---- reading a report back (tf-equiv merge) ----------------------------------------------------

def test_read_junit_gives_back_what_a_user_reads(tmp_path):
    read = read_junit(written(tmp_path, every_verdict()))
    got = {c.id: (c.verdict, c.message, c.detail, c.warnings, c.line) for c in read.cases}
    assert got == {c.id: (c.verdict, c.message, c.detail, c.warnings, c.line)
                   for c in every_verdict().cases}
    assert read.duration == pytest.approx(12.346) and not read.interrupted
    assert read.counts() == every_verdict().counts() and read.return_code == 1
    net = read.pairs[0]
    assert net.environment == ENV
    assert net.tolerances == {"rtol": 1e-3, "gradients/*": (1e-4, 1e-4)}


def test_a_merged_report_draws_the_charts_and_diagnosis_the_run_drew(tmp_path):
    """`merge --html` has no run to ask: the failing check's endpoints travel in the XML."""
    wide = case("transferred_inference", "failed", "transferred_inference: outputs/k differs",
                records=endpoints(*[(f"e{i:03d}", 1.0 if i < 150 else 1.5) for i in range(200)]))
    report = Report((PairResult(MODULE, "net", (wide,)),), 1.0)
    (read,) = read_junit(written(tmp_path, report)).cases
    assert len(read.records) < 80                          # thinned, as the terminal shows them
    assert html.endpoint_svg(read) == html.endpoint_svg(wide) != ""
    assert "first divergence: outputs/e150" in html.endpoint_svg(read)
    assert [c.evidence for c in diagnosis(read_junit(written(tmp_path, report)).pairs[0])] == \
        [c.evidence for c in diagnosis(report.pairs[0])]
    assert html.to_html(read_junit(written(tmp_path, report))).count('class="chart"') == 1


@pytest.mark.parametrize("value, problem", [
    ("[1, 2]", "record 0 is not an object: 1"),
    ("{}", "is not a list of records: {}"),
    ("[" * 100_000 + "]" * 100_000, "is nested too deeply"),
])
def test_a_property_of_records_that_is_not_ours_is_named(tmp_path, value, problem):
    """The records only draw a failing check's charts: the case is read without them."""
    path = written(tmp_path, every_verdict())
    with open(path, encoding="utf-8") as f:
        text = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(re.sub(r'(name="records\.net::transferred_inference" value=")[^"]*',
                       lambda m: m.group(1) + value, text))
    read = read_junit(path)
    prop = "property 'records.net::transferred_inference'"
    assert read.errors == (f"{path}: test case 'net::transferred_inference' of '{MODULE}': "
                           f"{prop}{':' if problem.startswith('record') else ''} {problem}; "
                           "the case is merged without its charts",)
    assert [(c.id, c.verdict, c.message) for c in read.cases] == \
        [(c.id, c.verdict, c.message) for c in every_verdict().cases]
    assert [c.records for c in read.cases if c.verdict == "failed"] == [()]


def test_a_stopped_run_reads_back_as_interrupted(tmp_path):
    stopped = Report((PairResult("equiv_x.py", "p", (
        case("gradients", "error", "gradients: not run: interrupted", pair="p",
             module="equiv_x.py"),)),), 3.0, interrupted=True)
    read = read_junit(written(tmp_path, stopped))
    assert read.interrupted and read.return_code == 1


def test_a_report_without_a_run_time_sums_its_suites(tmp_path):
    path = tmp_path / "old.xml"
    path.write_text('<testsuites><testsuite name="equiv_a.py" file="equiv_a.py" time="1.5">'
                    '<testcase name="p::gradients" time="0.5"/></testsuite>'
                    '<testsuite name="equiv_b.py" file="equiv_b.py" time="2">'
                    '<testcase name="q::tf_function" time="1"/></testsuite></testsuites>')
    read = read_junit(str(path))
    assert read.duration == pytest.approx(3.5)
    assert [(c.id, c.verdict) for c in read.cases] == [
        ("equiv_a.py::p::gradients", "passed"), ("equiv_b.py::q::tf_function", "passed")]


@pytest.mark.parametrize("suite, problem", [
    ('<testsuite name="equiv_a.py" file="equiv_a.py"><testcase name="p::gradients" line="x"/>'
     '</testsuite>', "test case 'p::gradients' of 'equiv_a.py': line='x' is not a line number"),
    ('<testsuite name="equiv_a.py" file="equiv_a.py"><testcase name="p::gradients" time="soon"/>'
     '</testsuite>', "test case 'p::gradients' of 'equiv_a.py': time='soon' is not a number"),
    ('<testsuite name="equiv_a.py" file="other.py"><testcase name="p::gradients"/></testsuite>',
     "<testsuite name='equiv_a.py'> does not name its module in `file`"),
    ('<testsuite name="equiv_a.py" file="equiv_a.py"><testcase name="gradients"/></testsuite>',
     "test case 'gradients' of 'equiv_a.py' is not named <pair>::<check>"),
    ("", "no <testsuite> element"),
])
def test_a_report_tf_equiv_did_not_write_is_named_with_its_problem(tmp_path, suite, problem):
    path = tmp_path / "other.xml"
    path.write_text(f'<testsuites name="tf-equiv">{suite}</testsuites>')
    with pytest.raises(UsageError) as e:
        read_junit(str(path))
    assert str(e.value) == f"{path}: not a JUnit XML report written by tf-equiv: {problem}"


# ---- the terminal ------------------------------------------------------------------------------

def test_progress_line_counts_the_verdicts_of_a_pair():
    stream = io.StringIO()
    net = every_verdict().pairs[0]
    terminal.progress(net, 3, 12, stream)
    terminal.progress(net, 3, 12, stream, numbered=False)
    terminal.progress(PairResult("equiv_x.py", "empty", (), duration=0.04), 10, 12, stream)
    assert stream.getvalue().splitlines() == [
        "[ 3/12] models/equiv_net.py::net  1 passed, 1 failed, 1 error, 1 skipped, 1 xfailed, "
        "1 xpassed  2.0 s",
        "models/equiv_net.py::net  1 passed, 1 failed, 1 error, 1 skipped, 1 xfailed, "
        "1 xpassed  2.0 s",
        "[10/12] equiv_x.py::empty  no checks  0.0 s"]


def test_final_report_shows_failures_warnings_environment_and_the_total():
    out = final(every_verdict())
    lines = out.splitlines()
    # The sections in the order pytest users expect, the total last.
    order = [lines.index(line) for line in (
        "================================== FAILURES ==================================",
        "FAILED: transferred_inference: first divergence in forward order: outputs/b",
        f"ERROR: gradients: {CRASH}",
        "ERROR: equiv_broken.py: SyntaxError: invalid syntax (equiv_broken.py, line 3)",
        "================================== warnings ==================================",
        "models/equiv_net.py::net::variables_match: weak comparison: 1 records have every "
        "element equal: outputs/p",
        "environment: python 3.11.7, tensorflow 2.21.0, device CPU (x86_64)",
        "compat fixes applied: legacy_tf_layers_alias, tf_slim_collection_identity")]
    assert order == sorted(order)
    assert re.fullmatch(r"=+ 1 passed, 1 failed, 2 errors, 1 skipped, 1 xfailed, 1 xpassed "
                        r"in 12\.3s =+", lines[-1]), lines[-1]
    assert "_ models/equiv_net.py::net::transferred_inference _" in out
    assert "    record     shape\n    outputs/b  (3,)\n" in out            # the detail, indented
    assert '    native code <&> "crashed"\n' in out
    # Skips, xfails and xpasses are counted, not listed as failures.
    assert "needs a GPU" not in out and "dropout not migrated" not in out


def test_the_table_of_endpoints_marks_the_first_divergence():
    out = final(every_verdict())
    table = out.split("error per endpoint, in forward order (transferred_inference):\n")[1]
    assert table.splitlines()[:3] == [
        "      outputs/a  max rel 0         max abs 0",
        "      outputs/b  max rel 0.03      max abs 0.03  <- first divergence",
        "      outputs/c  max rel 0.5       max abs 0.5  x"]


def test_a_long_forward_pass_is_thinned_but_keeps_its_first_divergence():
    values = [(f"e{i:03}", 1.0 if i < 137 else 2.0) for i in range(200)]
    bad = case("transferred_inference", "failed", "transferred_inference: differs",
               records=endpoints(*values))
    table = terminal.endpoint_table(bad).splitlines()
    assert len(table) - 1 <= terminal.MAX_ENDPOINTS
    assert [line.split()[0] for line in table[1:3]] == ["outputs/e000", "outputs/e004"]
    (marked,) = [line for line in table if line.endswith("<- first divergence")]
    assert marked.split()[0] == "outputs/e137"
    one = case("transferred_inference", "failed", "differs", records=endpoints(("only", 2.0)))
    assert terminal.endpoint_table(one) == ""            # a single output needs no table


def test_a_side_that_crashed_is_one_block_for_all_its_checks():
    crashed = tuple(case(c, "error", f"{c}: {CRASH}", pair="p", module="equiv_x.py",
                         detail="last 1 lines of its output:\nboom")
                    for c in ("gradients", "tf_function"))
    out = final(Report((PairResult("equiv_x.py", "p", crashed),), 4.0))
    assert "_ equiv_x.py::p [gradients, tf_function] _" in out
    assert out.count(f"ERROR: {CRASH}\n    last 1 lines of its output:\n    boom\n") == 1
    assert re.search(r"=+ 2 errors in 4\.0s =+\n$", out)


@pytest.mark.parametrize("report, total", [
    (Report(()), "no checks ran in 0.0s"),
    (Report((module_error(),), 1.25), "1 error in 1.2s"),
    (Report((module_error(),), 2.0, interrupted=True), "interrupted: 1 error in 2.0s"),
    (Report((), 42.35, note="summed over 2 reports"), "no checks ran in 42.4s (summed over 2 "
                                                      "reports)"),
])
def test_the_total_says_what_ran(report, total):
    last = final(report).splitlines()[-1]
    assert re.fullmatch(rf"=+ {re.escape(total)} =+", last), last


def test_failures_already_shown_are_not_repeated():
    out = final(every_verdict(), show_failures=False)
    assert "FAILURES" not in out and "FAILED:" not in out
    assert "== warnings ==" in out and "1 failed, 2 errors" in out.splitlines()[-1]


def test_exit_status_follows_the_verdicts():
    def report(*verdicts: str, **kw) -> Report:
        return Report((PairResult("equiv_x.py", "p", tuple(
            case(f"c{i}", v, "m", pair="p", module="equiv_x.py")
            for i, v in enumerate(verdicts))),), **kw)

    assert report("passed", "skipped", "xfailed", "xpassed").return_code == 0
    assert report("passed", "failed").return_code == 1
    assert report("error").return_code == 1
    assert report("passed", interrupted=True).return_code == 1
    assert Report(()).return_code == 0


# ---- GitHub Actions ----------------------------------------------------------------------------

def hostile_report() -> Report:
    """Text from the user's model that tries to issue workflow commands."""
    return Report((PairResult("equiv_x.py", "p", (
        case("transferred_inference", "failed",
             "transferred_inference: differs\n::error::injected by the model", pair="p",
             module="equiv_x.py", file="equiv_x.py", line=4,
             detail="::set-output name=passed::99\n::add-mask::secret"),
        case("variables_match", "passed", "variables_match: ok", pair="p", module="equiv_x.py",
             warnings=("::warning::also injected",)),)),
        module_error()), 1.0)


def test_the_fenced_log_lets_no_user_text_become_a_command():
    stream = io.StringIO()
    github.log(hostile_report(), stream, github.Fence(stream))
    out = stream.getvalue()
    assert "::error::injected by the model" in out       # printed for the reader ...
    commands = runner_commands(out)                     # ... but never acted on
    assert [c[0] for c in commands] == ["group", "endgroup", "group", "endgroup", "error", "error",
                                        "warning"]
    assert [c[2] for c in commands[:4:2]] == ["equiv_x.py: 1 failed, 1 passed",
                                              "equiv_broken.py: 1 error"]
    assert not [c for c in commands if c[0] in ("set-output", "add-mask")]
    assert all("\n" not in c[2] for c in commands)
    # Every stop is resumed: the workflow's own later commands still work.
    tokens = re.findall(r"^::stop-commands::(\w+)$", out, re.M)
    assert tokens and all(f"\n::{t}::\n" in out for t in tokens)
    assert github.Fence(stream).token != github.Fence(stream).token


def test_annotations_put_a_module_that_cannot_run_first_and_group_a_crash():
    crashed = tuple(case(c, "error", f"{c}: {CRASH}", pair="p", module="equiv_x.py",
                         detail="\n".join(f"line {i}" for i in range(30)))
                    for c in ("gradients", "tf_function"))
    failed = case("variables_match", "failed", "variables_match: 1 variables only in TF2",
                  pair="p", module="equiv_x.py")
    xpassed = case("constant_inference", "xpassed", "xpassed (why): constant_inference: ok",
                   pair="p", module="equiv_x.py")
    report = Report((PairResult("equiv_x.py", "p", (failed, *crashed, xpassed)),
                     module_error()), 1.0)
    lines = github.annotations(report)
    assert [line.split("::")[1] for line in lines] == [
        "error file=equiv_broken.py,line=3,title=tf-equiv%3A equiv_broken.py%3A error",
        "error file=equiv_x.py,line=7,title=tf-equiv%3A p%3A%3Agradients%2C tf_function error",
        "error file=equiv_x.py,line=7,title=tf-equiv%3A p%3A%3Avariables_match failed",
        "warning file=equiv_x.py,line=7,title=tf-equiv%3A p%3A%3Aconstant_inference"]
    crash = lines[1].split("::", 2)[2]
    assert crash.startswith(f"{CRASH}%0A%0Aline 0%0Aline 1%0A")
    assert crash.endswith("%0Aline 19%0A...")            # the first 20 lines of the detail
    assert lines[3].endswith("::xpassed: the check passes although it is marked xfail; remove "
                             "the mark. xpassed (why): constant_inference: ok")


def test_annotations_name_files_relative_to_the_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    inside = case("gradients", "failed", "gradients: differs", pair="p",
                  module=str(tmp_path / "models" / "equiv_x.py"),
                  file=str(tmp_path / "models" / "equiv_x.py"))
    outside = case("gradients", "failed", "gradients: differs", pair="q",
                   module="/elsewhere/equiv_y.py", file="/elsewhere/equiv_y.py")
    lines = github.annotations(Report((PairResult(inside.module, "p", (inside,)),
                                       PairResult(outside.module, "q", (outside,))), 1.0))
    assert lines[0].startswith("::error file=models/equiv_x.py,line=7,")
    assert lines[1].startswith("::error file=/elsewhere/equiv_y.py,line=7,")


def test_a_long_annotation_is_cut_and_says_where_the_rest_is():
    long = case("gradients", "failed", "gradients: " + "x" * 5000, pair="p", module="equiv_x.py")
    (line,) = github.annotations(Report((PairResult("equiv_x.py", "p", (long,)),), 1.0))
    body = line.split("::", 2)[2]
    assert body.endswith("%0A... (see the job log or the JUnit report)")
    assert len(body) < 4100


def test_the_job_summary_has_a_table_the_failures_and_the_warnings():
    text = github.summary(every_verdict())
    assert text.startswith("## tf-equiv: 1 passed, 1 failed, 2 errors, 1 skipped, 1 xfailed, "
                           "1 xpassed in 12.3s\n")
    assert ("| pair | `variables_match` | `constant_inference` | `transferred_inference` | "
            "`random_training[constant]` | `gradients` | `tf_function` |") in text
    assert "| `models/equiv_net.py::net` | ✅ | ⚠️ | ❌ | ✔️ | 💥 | ⏭️ |" in text
    assert "| `equiv_broken.py` | 💥 module error | | | | | |" in text
    assert "### ❌ `models/equiv_net.py::net::transferred_inference`" in text
    assert "| `outputs/b` | 0.03 | 0.03 | `(0,)` | 3/3 | rtol=0.03 or atol=0.03 |" in text
    assert "| `outputs/a` |" not in text                 # only the records that failed
    assert "### 💥 `models/equiv_net.py::net::gradients`" in text
    assert '<details><summary>details</summary>\n\n```text\nlast 1 lines of its output:\n' \
        'native code <&> "crashed"\n```\n</details>' in text
    assert "### Warnings\n\n- `models/equiv_net.py::net::variables_match`: `weak comparison: " \
        "1 records have every element equal: outputs/p`" in text
    # A check a pair did not run is a dash.
    partial = Report((PairResult("equiv_x.py", "p", (
        case("gradients", "passed", "ok", pair="p", module="equiv_x.py"),)),
        every_verdict().pairs[0]), 1.0)
    assert "| `equiv_x.py::p` | — | — | — | — | ✅ | — |" in github.summary(partial)


def test_the_job_summary_of_a_stopped_run_says_so():
    text = github.summary(Report((module_error(),), 2.0, interrupted=True))
    assert text.startswith("## tf-equiv: interrupted: 1 error in 2.0s\n")


def test_step_outputs_count_as_the_action_documents(tmp_path, monkeypatch):
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    output.write_text("earlier=step\n")
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    github.write_files(every_verdict(), "out/report.xml")
    # xfailed counts as skipped and xpassed as passed; what the runner wrote before stays.
    assert output.read_text().splitlines() == [
        "earlier=step", "junit-xml=out/report.xml", "html=", "total=7", "passed=2", "failed=1",
        "errors=2", "skipped=2"]
    text = summary.read_text()
    assert text.startswith("# earlier step\n## tf-equiv: 1 passed, 1 failed, 2 errors")


def test_a_step_output_with_a_newline_cannot_set_another_output(tmp_path, monkeypatch):
    output = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    github.write_files(Report(()), "odd\npassed=99.xml")
    lines = output.read_text().splitlines()
    assert re.fullmatch(r"junit-xml<<(ghadelimiter_\w+)", lines[0])
    assert lines[1:4] == ["odd", "passed=99.xml", lines[0].split("<<")[1]]
    assert lines[4:] == ["html=", "total=0", "passed=0", "failed=0", "errors=0", "skipped=0"]


def test_without_a_runner_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    github.write_files(every_verdict(), None)
    assert os.listdir(tmp_path) == []


def test_a_usage_error_is_one_annotation_on_one_line():
    stream = io.StringIO()
    github.usage_error("--shard 3/2: shard 3 of 2\nI must be between 1 and N", stream)
    assert stream.getvalue() == ("::error title=tf-equiv%3A usage error::--shard 3/2: shard 3 of "
                                 "2%0AI must be between 1 and N\n")


# ---- where a report may be written -------------------------------------------------------------

def test_a_report_never_replaces_a_module_being_checked(tmp_path):
    module = tmp_path / "equiv_m.py"
    module.write_text("x = 1\n")
    link = tmp_path / "report.xml"
    link.symlink_to(module)
    for path in (module, link):
        with pytest.raises(UsageError) as e:
            check_report_path("--junit-xml", str(path), [str(module)], "the module being checked")
        assert str(e.value) == (f"--junit-xml {path}: that is the module being checked {module}; "
                                "the report would overwrite it. Choose another path")
    assert module.read_text() == "x = 1\n"


@pytest.mark.parametrize("content", [
    "<notes>mine</notes>", "", "not xml",
    '<testsuites><testsuite name="pytest" tests="1"/></testsuites>'])
def test_a_file_tf_equiv_did_not_write_is_kept(tmp_path, content):
    path = tmp_path / "report.xml"
    path.write_text(content)
    with pytest.raises(UsageError, match="exists and is not a tf-equiv report; tf-equiv replaces "
                                         "only reports it wrote"):
        check_report_path("--junit-xml", str(path))
    assert path.read_text() == content


def test_reports_tf_equiv_wrote_may_be_replaced(tmp_path):
    check_report_path("--junit-xml", written(tmp_path, every_verdict()))
    # A report written before the mark: its suites carry the environment.
    older = tmp_path / "older.xml"
    older.write_text('<testsuites><testsuite name="equiv_a.py"><properties><property '
                     'name="environment.tensorflow" value="2.21.0"/></properties></testsuite>'
                     '</testsuites>')
    check_report_path("--junit-xml", str(older))
    # A path in folders that do not exist yet: made, and proved writable.
    check_report_path("--junit-xml", str(tmp_path / "a" / "b" / "report.xml"))
    assert os.path.isdir(tmp_path / "a" / "b") and os.listdir(tmp_path / "a" / "b") == []


def test_a_folder_is_no_report_path(tmp_path):
    with pytest.raises(UsageError, match=r"--junit-xml .*: is a folder"):
        check_report_path("--junit-xml", str(tmp_path))


def test_a_file_that_could_not_be_written_at_the_end_is_one_error_line(tmp_path, monkeypatch,
                                                                         capsys):
    """--timings is checked before the run; should it still fail at the end, the summary and
    the JUnit report are written, one line says why, and the exit status is 1."""
    import signal

    from tf_equiv import cli
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    report = Report((PairResult(MODULE, "net", (case("gradients", "passed", ""),)),), 1.0,
                    errors=("--timings t.json: could not be written: Permission denied",))
    path = str(tmp_path / "report.xml")
    try:
        with pytest.raises(SystemExit) as ended:
            cli._finish(report, path, None)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    out, err = capsys.readouterr()
    assert ended.value.code == 1
    assert err.strip() == "tf-equiv: error: --timings t.json: could not be written: " \
        "Permission denied"
    assert "1 passed" in out and "Traceback" not in err
    assert [tc.name for suite in JUnitXml.fromfile(path) for tc in suite] == ["net::gradients"]


# ---- which pairs are running, and for how long ---------------------------------------------------

def test_a_terminal_shows_the_running_pairs_on_one_live_line():
    stream = io.StringIO()
    running = terminal.Running(stream, live=True, width=120)
    running.tick({"equiv_a.py::big": 100.0, "equiv_b.py::small": 160.0}, now=172.5)
    assert stream.getvalue() == "\r\x1b[Krunning 1:12 equiv_a.py::big, 0:12 equiv_b.py::small"
    running.tick({"equiv_a.py::big": 100.0, "equiv_b.py::small": 160.0}, now=172.7)
    assert stream.getvalue().count("running") == 1        # unchanged: not rewritten
    running.done(PairResult("equiv_b.py", "small", (case("gradients", "passed", ""),), 12.9),
                 1, 2)
    # The live line is cleared before the finished pair's line, which stays.
    assert stream.getvalue().endswith("\r\x1b[K[1/2] equiv_b.py::small  1 passed  12.9 s\n")


def test_a_ci_log_gets_plain_lines_for_long_pairs_only():
    stream = io.StringIO()
    running = terminal.Running(stream, live=False, first=30, every=60)
    for now in (10, 29, 31, 60, 89, 92, 3700):
        running.tick({"equiv_a.py::big": 0.0, "equiv_b.py::quick": now - 5}, now=now)
    assert stream.getvalue().splitlines() == [
        "... equiv_a.py::big still running (0:31)",
        "... equiv_a.py::big still running (1:32)",
        "... equiv_a.py::big still running (1:01:40)",
    ]
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()
