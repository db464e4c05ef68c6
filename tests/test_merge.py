"""tf-equiv merge: shard reports read back from their JUnit XML and combined into one Report."""
from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from conftest import read_junit as read_with_junitparser

from tf_equiv.errors import UsageError
from tf_equiv.report import junit, terminal
from tf_equiv.report.junit import kept_records
from tf_equiv.report.merge import merge
from tf_equiv.report.read_junit import read_junit
from tf_equiv.results import MODULE_CASE, CaseResult, PairResult, Report

ENV = {"python": "3.11.9", "tensorflow": "2.21.0", "tf_keras": "2.21.0", "numpy": "2.1.3",
       "device": "CPU (x86_64)", "onednn": "default", "op_determinism": "on", "tf32": "n/a",
       "seed": "42"}
FIXES = ("legacy_tf_layers_alias", "tf_slim_collection_identity")
WEAK = "weak comparison: 1 records have every element equal to one value on both sides: outputs/0"
TABLE = ("record          shape   max abs  max rel  worst index  mismatched  rtol needed\n"
         "outputs/logits  (1, 3)  0.001    0.0229   (0, 2)       3 of 3      0.0227\n\n"
         "warning: a paragraph of the detail, not a warning of the case")


def case(module: str, pair: str, check: str, verdict: str, message: str, **kw) -> CaseResult:
    kw.setdefault("file", module)
    kw.setdefault("line", 12)
    kw.setdefault("words", said(check, message))
    return CaseResult(module, pair, check, verdict, message, **kw)


def said(check: str, message: str) -> str:
    """CaseResult.words of a message led by its check's id, as the checker builds it."""
    return message[len(check) + 2:] if message.startswith(f"{check}: ") else ""


def mlp_pair() -> PairResult:
    m, p = "equiv_mlp.py", "mlp"
    cases = (
        case(m, p, "variables_created_once", "passed",
             "variables_created_once: the second call created no variable", duration=0.1234),
        case(m, p, "variables_match", "failed",
             "variables_match: 1 variables only in TF2: dense_v2/kernel (3, 3) float32. "
             "Hint: a renamed variable_scope; pass name_map=...",
             detail="--- TF1 global_variables()\n+++ TF2 model.variables\n- dense/kernel (3, 3) "
                    "float32\n+ dense_v2/kernel (3, 3) float32", duration=1.5),
        case(m, p, "constant_inference", "passed", "constant_inference: 3 records match",
             duration=2.25, warnings=(WEAK,)),
        case(m, p, "transferred_inference", "failed",
             "transferred_inference: first divergence in forward order: outputs/logits: max abs "
             "diff 0.001 (rtol=1e-06, atol=1e-05; would pass with rtol=0.0227 or atol=0.001)",
             detail=TABLE, duration=2.0, warnings=(WEAK, "a second warning")),
        # An exception's message may span lines: the attribute loses them, the body keeps them.
        case(m, p, "random_inference[constant]", "error",
             "random_inference[constant]: TF2 side: ValueError: bad shape\n  expected (3,)",
             detail="Traceback (user frames only):\n  File \"equiv_mlp.py\", line 23\n"
                    "    raise ValueError(...)", file="equiv_mlp.py", line=23, duration=0.75),
        case(m, p, "gradients", "error",
             "gradients: TF2 side was killed by SIGSEGV (exit status -11)",
             detail="last 1 lines of its output:\nnative code about to crash <&>"),
        case(m, p, "functional_training[constant]", "skipped",
             "the TF2 model is not a Keras layer"),
    )
    return PairResult(m, p, cases, environment=ENV, compat_fixes=FIXES,
                      tolerances={"rtol": 1e-6, "atol": 1e-5, "gradients/*": [1e-4, 1e-4]})


def marked_pair() -> PairResult:
    m, p = "equiv_mlp.py", "mlp_marked"
    cases = (
        case(m, p, "variables_match", "xfailed",
             "xfailed (renamed on purpose): variables_match: 1 variables only in TF2",
             detail="--- TF1 global_variables()\n+++ TF2 model.variables", duration=0.5),
        case(m, p, "constant_inference", "xpassed",
             "xpassed (renamed on purpose): constant_inference: 3 records match",
             warnings=(WEAK,), duration=1.0),
        case(m, p, "random_inference[constant]", "xfailed",
             "xfailed (renamed on purpose): random_inference[constant]: first divergence"),
    )
    return PairResult(m, p, cases, environment=ENV, compat_fixes=FIXES,
                      tolerances={"rtol": 0.001, "atol": 1e-5})


def broken_module() -> PairResult:
    error = case("equiv_broken.py", MODULE_CASE, MODULE_CASE, "error",
                 "equiv_broken.py: SyntaxError: invalid syntax (equiv_broken.py:3)",
                 detail="    x = = 1\n        ^", line=3)
    return PairResult("equiv_broken.py", MODULE_CASE, (error,))


def shards() -> tuple:
    later = PairResult("equiv_later.py", "later", tuple(
        case("equiv_later.py", "later", c, "skipped", "waits for the TF2 port", line=5)
        for c in ("variables_created_once", "variables_match")))
    resnet = PairResult("equiv_resnet.py", "resnet", tuple(
        case("equiv_resnet.py", "resnet", c, "passed", f"{c}: 7 records match", duration=10.0)
        for c in ("constant_inference", "gradients")), environment=ENV, compat_fixes=FIXES[:1],
        tolerances={"rtol": 1e-5, "atol": 1e-5})
    # Every shard that imports the broken module reports it.
    return (Report((mlp_pair(), broken_module()), 12.3456),
            Report((marked_pair(), later, broken_module(), resnet), 30.0))


def written(tmp_path, *reports: Report) -> list:
    paths = []
    for i, report in enumerate(reports, 1):
        paths.append(str(tmp_path / f"shard-{i}.xml"))
        junit.write(report, paths[-1])
    return paths


def interrupted_shards(tmp_path) -> list:
    """An empty report and one whose run was stopped before its last check."""
    stopped = PairResult("equiv_resnet.py", "resnet", (case(
        "equiv_resnet.py", "resnet", "gradients", "error", "gradients: not run: interrupted"),))
    return written(tmp_path, Report((), 1.0), Report((stopped,), 2.0, interrupted=True))


def by_id(report: Report) -> dict:
    return {c.id: c for c in report.cases}


def final(report: Report) -> str:
    stream = io.StringIO()
    terminal.final(report, stream)
    return stream.getvalue()


def as_written(report: Report) -> Report:
    """What the XML keeps: durations to the millisecond, no None tolerance, the records of a
    failing check that its charts show."""
    pairs = tuple(replace(p, cases=tuple(replace(c, duration=round(c.duration, 3),
                                                 records=kept_records(c))
                                         for c in p.cases),
                          tolerances={k: v for k, v in p.tolerances.items() if v is not None},
                          duration=0.0, line=0)
                  for p in report.pairs)
    return replace(report, pairs=pairs, duration=round(report.duration, 3))


def test_read_junit_gives_back_what_junit_wrote(tmp_path):
    for report, path in zip(shards(), written(tmp_path, *shards())):
        assert read_junit(path) == as_written(report)


def test_environment_and_compat_fixes_are_read_back_per_module(tmp_path):
    a = PairResult("equiv_m.py", "a", (case("equiv_m.py", "a", "gradients", "passed", "ok"),),
                   environment=ENV, compat_fixes=FIXES[:1], tolerances={"rtol": None})
    b, c = (PairResult("equiv_m.py", p, (case("equiv_m.py", p, "gradients", "skipped", "later"),),
                       compat_fixes=fixes) for p, fixes in (("b", ()), ("c", FIXES[1:])))
    (path,) = written(tmp_path, Report((a, b, c)))
    read = read_junit(path).pairs
    assert [p.environment for p in read] == [ENV] * 3
    assert [p.compat_fixes for p in read] == [FIXES] * 3  # the union, not the last pair's
    assert [p.tolerances for p in read] == [{}] * 3


def test_merge_combines_the_shards(tmp_path):
    one, two = shards()
    merged = merge(written(tmp_path, one, two))
    assert [f"{p.module}::{p.pair}" for p in merged.pairs] == [
        "equiv_mlp.py::mlp", "equiv_mlp.py::mlp_marked", "equiv_broken.py::<module>",
        "equiv_later.py::later", "equiv_resnet.py::resnet"]
    assert merged.counts() == {"passed": 4, "failed": 2, "error": 3, "skipped": 3, "xfailed": 2,
                               "xpassed": 1}
    assert merged.return_code == 1 and not merged.interrupted
    assert merged.duration == pytest.approx(12.346 + 30.0)
    assert merged.note == "summed over 2 reports"
    cases = by_id(merged)
    assert cases == {**by_id(as_written(one)), **by_id(as_written(two))}
    error = cases["equiv_mlp.py::mlp::random_inference[constant]"]
    assert error.message.endswith("bad shape\n  expected (3,)") and error.line == 23
    failed = cases["equiv_mlp.py::mlp::transferred_inference"]
    assert failed.detail == TABLE and failed.warnings == (WEAK, "a second warning")
    assert cases["equiv_mlp.py::mlp_marked::constant_inference"].warnings == (WEAK,)
    mlp, marked, broken, later, resnet = merged.pairs
    assert mlp.tolerances == {"rtol": 1e-6, "atol": 1e-5, "gradients/*": [1e-4, 1e-4]}
    assert marked.tolerances == {"rtol": 0.001, "atol": 1e-5}
    assert (mlp.environment, mlp.compat_fixes) == (ENV, FIXES)
    assert (resnet.environment, resnet.compat_fixes) == (ENV, FIXES[:1])
    assert (broken.environment, later.environment) == ({}, {})


# terminal.py is being changed elsewhere; it says Report.note once its summary line passes it on.
shows_note = pytest.mark.skipif("(a note)" not in final(Report((), note="a note")),
                                reason="terminal.final does not show Report.note yet")


@shows_note
def test_merged_terminal_output_has_one_summary(tmp_path):
    out = final(merge(written(tmp_path, *shards())))
    summaries = [line for line in out.splitlines() if re.search(r" in \d+\.\ds", line)]
    assert len(summaries) == 1, out
    assert re.fullmatch(r"=+ 4 passed, 2 failed, 3 errors, 3 skipped, 2 xfailed, 1 xpassed "
                        r"in 42\.3s \(summed over 2 reports\) =+", summaries[0]), summaries[0]
    assert out.count("equiv_broken.py::<module>") == 1
    assert "FAILED: variables_match: 1 variables only in TF2" in out
    assert "    warning: a paragraph of the detail, not a warning of the case" in out
    assert f"equiv_mlp.py::mlp::transferred_inference: {WEAK}" in out
    assert "compat fixes applied: legacy_tf_layers_alias, tf_slim_collection_identity" in out


def test_merged_xml_is_read_by_junitparser(tmp_path):
    merged = merge(written(tmp_path, *shards()))
    out = str(tmp_path / "all.xml")
    junit.write(merged, out)
    cases, xml = read_with_junitparser(out)
    assert {k: c.verdict for k, c in cases.items()} == {c.id: c.verdict for c in merged.cases}
    failure = cases["equiv_mlp.py::mlp::transferred_inference"]
    assert failure.message == by_id(merged)["equiv_mlp.py::mlp::transferred_inference"].message
    assert "outputs/logits  (1, 3)  0.001" in failure.text and failure.line == "12"
    assert xml.time == pytest.approx(42.346)
    # A merged report reads back like any other (and so merges again).
    assert read_junit(out) == replace(as_written(merged), note="")


def test_a_pair_in_two_reports_is_a_usage_error(tmp_path):
    one, two = shards()
    paths = written(tmp_path, one, two, Report((mlp_pair(),), 5.0))
    with pytest.raises(UsageError) as e:
        merge(paths)
    assert str(e.value).startswith(
        f"equiv_mlp.py::mlp appears in both {paths[0]} and {paths[2]}. Hint:")


def test_an_empty_or_interrupted_report_merges(tmp_path):
    merged = merge(interrupted_shards(tmp_path))
    assert merged.interrupted and merged.return_code == 1
    assert merged.duration == pytest.approx(3.0)
    assert merged.note == "summed over 2 reports"


@shows_note
def test_an_interrupted_shard_says_so_in_the_summary(tmp_path):
    out = final(merge(interrupted_shards(tmp_path)))
    assert "= interrupted: 1 error in 3.0s (summed over 2 reports) =" in out


PYTEST_REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="0" skipped="0" tests="1" time="0.1">
<testcase classname="tests.test_x" name="test_y" time="0.1"/></testsuite></testsuites>"""


@pytest.mark.parametrize("content, problem", [
    (None, "no such file"),
    ("not xml at all", "not XML (syntax error: line 1, column 0)"),
    ("<html><body/></html>", "not a JUnit XML report written by tf-equiv: the root element is "
                             "<html>, not <testsuites>"),
    (PYTEST_REPORT, "not a JUnit XML report written by tf-equiv: test case 'test_y' of 'pytest' "
                    "is not named <pair>::<check>"),
])
def test_a_file_that_is_not_a_tf_equiv_report_is_a_usage_error(tmp_path, content, problem):
    (good,) = written(tmp_path, shards()[0])
    bad = tmp_path / "bad.xml"
    if content is not None:
        bad.write_text(content)
    with pytest.raises(UsageError) as e:
        merge([good, str(bad)])
    assert str(e.value) == f"{bad}: {problem}"


def test_a_report_given_twice_is_a_usage_error(tmp_path):
    (path,) = written(tmp_path, shards()[0])
    with pytest.raises(UsageError, match="shard-1.xml: given twice"):
        merge([path, path])
    with pytest.raises(UsageError, match="no reports to merge"):
        merge([])


def _diverging_pair() -> PairResult:
    """Two failing checks whose records (per channel) travel in the XML for the charts."""
    import numpy as np

    from tf_equiv.verdict.compare import compare_arrays
    tf1 = np.ones((2, 4), np.float32)
    records = (compare_arrays("outputs/a", tf1, tf1 * np.float32(1.1), 1e-6, 1e-5),
               compare_arrays("outputs/b", tf1, tf1 * np.float32(1.2), 1e-6, 1e-5))
    return PairResult("equiv_net.py", "net", tuple(
        case("equiv_net.py", "net", check, "failed", f"{check}: first divergence: outputs/a",
             records=records) for check in ("transferred_inference", "gradients")))


def _edit_records(path: str, name: str, field: str, value: object) -> None:
    """Set one field of the first record a case keeps, as a hand edit or another writer would."""
    import json
    import xml.etree.ElementTree as ET
    tree = ET.parse(path)
    prop = next(p for p in tree.iter("property") if p.get("name") == f"records.{name}")
    items = json.loads(prop.get("value"))
    items[0][field] = value
    prop.set("value", json.dumps(items))
    tree.write(path, encoding="utf-8")


def test_a_record_property_that_cannot_be_read_is_named_and_the_rest_merged(tmp_path):
    from conftest import tf_equiv
    bad, good = written(tmp_path, Report((_diverging_pair(),), 2.0), shards()[1])
    _edit_records(bad, "net::transferred_inference", "max_rel", "abc")
    _edit_records(bad, "net::gradients", "channels", ["x", "y"])
    out, page = tmp_path / "all.xml", tmp_path / "all.html"
    proc = tf_equiv("merge", bad, good, "--junit-xml", str(out), "--html", str(page),
                    "--no-github", cwd=str(tmp_path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.splitlines() == [
        f"tf-equiv: error: {bad}: test case 'net::transferred_inference' of 'equiv_net.py': "
        "property 'records.net::transferred_inference': record 0 ('outputs/a'): max_rel is not "
        "a number: 'abc'; the case is merged without its charts",
        f"tf-equiv: error: {bad}: test case 'net::gradients' of 'equiv_net.py': property "
        "'records.net::gradients': record 0 ('outputs/a'): channels is not a list of numbers: "
        "['x', 'y']; the case is merged without its charts"]
    # Every case of both files is in the merged report, with its verdict; only the charts of the
    # two cases are missing.
    merged = read_junit(str(out))
    expected = {**by_id(Report((_diverging_pair(),))), **by_id(shards()[1])}
    assert {c.id: c.verdict for c in merged.cases} == {k: c.verdict for k, c in expected.items()}
    assert [c.records for c in merged.pairs[0].cases] == [(), ()]
    assert "equiv_net.py::net" in page.read_text() and "equiv_resnet.py::resnet" in page.read_text()


def test_merge_says_each_unreadable_property_in_the_errors(tmp_path):
    (path,) = written(tmp_path, Report((_diverging_pair(),), 2.0))
    _edit_records(path, "net::gradients", "shape", [2, "4"])
    merged = merge([path])
    assert merged.errors == (
        f"{path}: test case 'net::gradients' of 'equiv_net.py': property 'records.net::gradients'"
        ": record 0 ('outputs/a'): shape is not a list of counts: [2, '4']; the case is merged "
        "without its charts",)
    assert merged.return_code == 1 and len(by_id(merged)["equiv_net.py::net::transferred_inference"]
                                           .records) == 2
