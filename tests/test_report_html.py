"""One diagnosis per pair, and the HTML report: a self-contained page (no network), its anchors,
what it escapes, the files it may replace, and a real browser (headless Chromium) opening it."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import replace

import pytest
from conftest import ROOT, check, tf_equiv

from tf_equiv.errors import UsageError
from tf_equiv.plan.destinations import check_report_path
from tf_equiv.report import html, junit
from tf_equiv.results import CaseResult, PairResult, Report

FIXTURES = os.path.join(ROOT, "tests", "fixtures_truth")
FAILING = "equiv_activation.py::failing"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _report(message: str = "transferred_inference: outputs differ") -> Report:
    cases = (CaseResult("models/equiv_net.py", "net", "transferred_inference", "failed", message,
                        detail="explanation (0.1 s):\n  <b>not bold</b>"),
             CaseResult("models/equiv_net.py", "net", "gradients", "passed", "gradients: 2 "
                        "records match; margin 40x", margin=40.0))
    return Report((PairResult("models/equiv_net.py", "net", cases,
                              environment={"tensorflow": "2.21.0"}),), 2.0)


def test_the_page_is_self_contained_escaped_and_anchored():
    page = html.to_html(_report("transferred_inference: <script>alert(1)</script> differs"))
    assert page.startswith("<!DOCTYPE html>") and html.MARK in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page
    # Nothing is fetched: no URL but the SVG namespace, no external script, style or image.
    assert set(re.findall(r"https?://[^\"' )]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    # An anchor per pair and per check, linked from the table.
    for kind, ident in (("pair", "models/equiv_net.py::net"),
                        ("case", "models/equiv_net.py::net::transferred_inference"),
                        ("case", "models/equiv_net.py::net::gradients")):
        target = html.anchor(kind, ident)
        assert f'id="{target}"' in page and f'href="#{target}"' in page
    assert html.anchor("case", "a/b.py::p::c") != html.anchor("case", "a_b.py::p::c")
    assert '<span class="margin">40x</span>' in page


def test_the_page_replaces_only_its_own_kind(tmp_path):
    path = tmp_path / "report.html"
    html.write(_report(), str(path))
    check_report_path("--html", str(path))          # a later run may replace it
    theirs = tmp_path / "index.html"
    theirs.write_text("<!DOCTYPE html><html><body>the user's page</body></html>")
    with pytest.raises(UsageError, match="exists and is not a tf-equiv report"):
        check_report_path("--html", str(theirs))


def test_merge_writes_the_merged_report_as_a_page_too(tmp_path):
    shard = str(tmp_path / "s1.xml")
    junit.write(_report(), shard)
    out = tmp_path / "merged.html"
    proc = tf_equiv("merge", shard, "--html", str(out), cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    page = out.read_text()
    assert "models/equiv_net.py::net" in page and f"HTML report: {out}" in proc.stdout


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    run = check(folder, "equiv_activation.py", "--html", str(folder / "report.html"),
                cwd=FIXTURES, explain=True)
    return run, str(folder / "report.html")


@pytest.mark.tensorflow
def test_a_wrong_activation_is_one_diagnosis_naming_the_block_and_both_ops(failing_run):
    run, _ = failing_run
    section = run.stdout.split(" DIAGNOSIS ")[1].split(" FAILURES ")[0].strip("= \n")
    lines = section.splitlines()
    assert len(lines) <= 15, section
    assert f"{FAILING}: 1 cause of 9 failing checks" in section
    assert "where: b2/dropout/Identity (Identity), computed in TF2 through b2/dense/Sigmoid " \
        "where TF1 has b2/dense/Tanh; block b2 is wrong" in section
    assert "next: fix block b2 of the migrated code" in section
    assert "checks: constant_inference, transferred_inference, random_inference" in section
    # The randomness audit is evidence, said once for the pair, not in every random check.
    assert "evidence: randomness audit (random_inference[num_random_ops]): TF1 4 (RandomUniform" \
        in section
    assert run.stdout.count("TF1 4 (RandomUniform") == 1, run.stdout
    # Both forward checks point at the place, from the pair's one localization.
    for check_id in ("constant_inference", "transferred_inference"):
        message = run.case(f"{FAILING}::{check_id}").message
        assert "b2/dense/Sigmoid" in message and "b2/dropout/Identity" in message, message
    assert run.case("equiv_activation.py::passing::gradients").verdict == "passed"


@pytest.mark.tensorflow
def test_the_page_has_every_part_a_reader_needs(failing_run):
    _, path = failing_run
    page = open(path, encoding="utf-8").read()
    assert 'class="grid"' in page and 'class="cause"' in page
    assert "b2/dense/Sigmoid where TF1 has b2/dense/Tanh" in page
    assert 'class="channels"' in page            # where in the failing record the difference is
    assert "<h3>Environment</h3>" in page and "tf1_grappler" in page
    assert 'id="' + html.anchor("case", f"{FAILING}::transferred_inference") + '"' in page


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", "--user-data-dir=" + os.environ.get("TMPDIR", "/tmp")
                           + "/tf-equiv-chromium", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.tensorflow
@pytest.mark.skipif(CHROMIUM is None and os.environ.get("TF_EQUIV_BROWSER_TESTS") != "1",
                    reason="no chromium here (.ci/setup-browser installs it; CI sets "
                           "TF_EQUIV_BROWSER_TESTS=1)")
def test_a_real_browser_opens_the_page_from_a_file_without_a_script_error(failing_run, tmp_path):
    assert CHROMIUM, "TF_EQUIV_BROWSER_TESTS=1 but chromium is not installed"
    _, path = failing_run
    dom = _chromium("--dump-dom", "file://" + path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout).group(0)
    # The page's script ran to its end, and no script error was raised on it.
    assert 'data-ready="1"' in body and "data-errors" not in body, body
    assert re.search(r'<span id="count">2 pairs</span>', dom.stdout)
    assert '<svg class="channels"' in dom.stdout
    shot = tmp_path / "page.png"
    taken = _chromium("--screenshot=" + str(shot), "--window-size=1280,1600", "file://" + path)
    assert taken.returncode == 0 and shot.stat().st_size > 10_000, taken.stderr[-2000:]


def _diagnosed() -> Report:
    place = "b2/dropout/Identity (Identity); block b2 is wrong"
    explanation = "Explanation: still fails with oneDNN off; likely a migration bug"
    cases = tuple(CaseResult("models/equiv_net.py", "net", check, "failed",
                             f"{check}: outputs differ", explanation=explanation, place=place,
                             block="b2")
                  for check in ("constant_inference", "transferred_inference"))
    return Report((PairResult("models/equiv_net.py", "net", cases),), 1.0)


def test_the_diagnosis_survives_the_junit_report_and_reaches_the_job_summary(tmp_path):
    from tf_equiv.report import github
    from tf_equiv.report.read_junit import read_junit
    from tf_equiv.results import diagnosis
    path = str(tmp_path / "r.xml")
    junit.write(_diagnosed(), path)
    (cause,) = diagnosis(read_junit(path).pairs[0])
    assert cause.checks == "constant_inference, transferred_inference"
    assert cause.place == "b2/dropout/Identity (Identity); block b2 is wrong"
    assert cause.next_step == "fix block b2 of the migrated code"
    summary = github.summary(_diagnosed(), html="out/report.html")
    assert "### Diagnosis" in summary and "`fix block b2 of the migrated code`" in summary
    assert "`out/report.html`" in summary


def test_a_record_with_very_many_channels_draws_a_capped_chart_and_says_so():
    """A record read from a report may carry any number of channels: the page stays small, the
    largest difference stays visible, and the caption says how the bars were drawn."""
    from tf_equiv.results import RecordComparison
    channels = [0.001] * 200_000
    channels[123_456] = 0.5
    record = RecordComparison("outputs/logits", False, 1e-6, 1e-5, shape=(1, 200_000),
                              total=200_000, mismatched=200_000, max_abs=0.5, max_rel=0.5,
                              channels=tuple(channels))
    case = CaseResult("models/equiv_net.py", "net", "transferred_inference", "failed",
                      "transferred_inference: outputs/logits differs", records=(record,))
    page = html.to_html(Report((PairResult("models/equiv_net.py", "net", (case,)),), 1.0))
    assert len(page.encode()) < 100_000
    chart = html.channel_svg(case)
    assert chart.count("<rect ") == html.MAX_BARS == 256
    assert ("outputs/logits: largest difference per channel (200000 channels, max 0.5; drawn as "
            "256 bars, each the largest of 782 neighbouring channels)") in chart
    assert "<title>channels 122774 to 123555: max abs diff 0.5</title>" in chart
    # A record within the cap keeps a bar per channel.
    few = replace(case, records=(replace(record, channels=(0.1, 0.2, 0.3)),))
    assert html.channel_svg(few).count("<rect ") == 3 and "drawn as" not in html.channel_svg(few)
    assert "<title>channel 2: max abs diff 0.3</title>" in html.channel_svg(few)
