"""GitHub Actions output: annotations, fencing of user text, the job summary and step outputs."""
from __future__ import annotations

import os
import re
from dataclasses import replace

import numpy as np
import pytest
from conftest import ROOT, read_junit, tf_equiv

from tf_equiv.report import github
from tf_equiv.results import CaseResult, PairResult, Report
from tf_equiv.verdict.compare import compare_arrays

COMMAND = re.compile(r"^::([a-z-]+)( [^:]*)?::(.*)$")


def runner_commands(stdout: str) -> list:
    """The workflow commands a runner would act on: `::stop-commands::T` disables every command
    until a line `::T::`, as the Actions runner does."""
    seen, stopped_by = [], None
    for line in stdout.splitlines():
        line = line.strip()
        if stopped_by:
            if line == f"::{stopped_by}::":
                stopped_by = None
            continue
        match = COMMAND.match(line)
        if not match:
            continue
        if match.group(1) == "stop-commands":
            stopped_by = match.group(3)
            continue
        seen.append((match.group(1), match.group(2) or "", match.group(3)))
    return seen


def _case(pair: str, verdict: str, message: str, **kw) -> CaseResult:
    return CaseResult("equiv_x.py", pair, "transferred_inference", verdict, message,
                      file="equiv_x.py", line=3, **kw)


def _report(*cases: CaseResult) -> Report:
    return Report(tuple(PairResult(c.module, c.pair, (c,)) for c in cases), 1.0)


def test_escaping_is_the_toolkits():
    assert github.escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = github.command("error", "x\n::set-output name=a::b", file="d/e,f.py", line=3,
                          title="t: u")
    assert line == "::error file=d/e%2Cf.py,line=3,title=t%3A u::x%0A::set-output name=a::b"
    assert len(line.splitlines()) == 1


def test_annotations_are_capped_ranked_and_counted():
    failed = [_case(f"p{i}", "failed", f"transferred_inference: differs {i}") for i in range(9)]
    errors = [_case(f"e{i}", "error", f"transferred_inference: crashed {i}") for i in range(4)]
    warned = [_case(f"w{i}", "passed", "ok", warnings=(f"weak comparison {i}",))
              for i in range(12)]
    lines = github.annotations(_report(*failed, *errors, *warned))
    kinds = [line.split(" ", 1)[0].split("::")[1] for line in lines]
    assert kinds == ["error"] * 10 + ["warning"] * 10 + ["notice"]
    # A pair that could not run is ranked before a divergence.
    assert all("crashed" in line for line in lines[:4])
    assert "differs 0" in lines[4]
    assert lines[-1].endswith("::3 more errors and 2 more warnings were not annotated (GitHub "
                              "shows at most 10 of each); the job summary and the JUnit report "
                              "have them all")


def test_summary_table_chart_and_size_cap():
    records = tuple(compare_arrays(f"outputs/{n}", np.ones(3, np.float32),
                                   np.full(3, v, np.float32), 1e-6, 1e-5)
                    for n, v in (("conv1", 1.0), ("block1", 1.0 + 1e-3), ("logits", 1.1)))
    case = _case("p", "failed", "transferred_inference: first divergence", records=records)
    text = github.summary(_report(case))
    assert "| `equiv_x.py::p` | ❌ |" in text
    assert 'x-axis ["conv1", "block1", "logits"]' in text
    assert "bar [-12, -3.00, -1.00]" in text
    assert "line [-6.00, -6.00, -6.00]" in text
    many = [_case(f"p{i}", "failed", "transferred_inference: " + "x" * 2000) for i in range(50)]
    small = github.summary(_report(*many), limit=20000)
    assert len(small.encode()) <= 20000 + 300
    assert "**Summary truncated:**" in small and "GitHub's 1 MiB limit" in small


def test_summary_cannot_be_broken_by_backticks_or_pipes():
    case = _case("p", "failed", "transferred_inference: ``` | </details>")
    text = github.summary(_report(case))
    assert "````text\ntransferred_inference: ``` | </details>\n````" in text


@pytest.mark.tensorflow
def test_check_on_github_fences_user_text_and_writes_outputs(tmp_path):
    out, summary = tmp_path / "output", tmp_path / "summary.md"
    report = tmp_path / "report.xml"
    proc = tf_equiv("check", "tests/fixtures_github", "--junit-xml", str(report), "--no-explain",
                    env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(out),
                         "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_WORKSPACE": ROOT})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # The model's exception message carries "::error::...": printed, but fenced.
    assert "::error::from the exception message" in proc.stdout
    commands = runner_commands(proc.stdout)
    assert [c[0] for c in commands] == ["group", "endgroup", "error", "error"]
    assert commands[0][2] == "tests/fixtures_github/equiv_noisy.py: 1 failed, 1 error"
    crash, diverged = commands[2], commands[3]
    assert crash[1] == (" file=tests/fixtures_github/equiv_noisy.py,line=47,"
                        "title=tf-equiv%3A crash_pair%3A%3Atransferred_inference error")
    assert "%0A::error::from the exception message" in crash[2]
    assert "title=tf-equiv%3A noisy_pair%3A%3Atransferred_inference failed" in diverged[1]
    assert diverged[2].startswith("transferred_inference: first divergence in forward order: "
                                  "outputs: max abs diff")
    assert out.read_text().splitlines() == [
        f"junit-xml={report}", "html=", "total=2", "passed=0", "failed=1", "errors=1", "skipped=0"]
    cases, _ = read_junit(str(report))
    assert cases["tests/fixtures_github/equiv_noisy.py::noisy_pair::transferred_inference"].verdict \
        == "failed"
    text = summary.read_text()
    assert text.startswith("## tf-equiv: 1 failed, 1 error in ")
    assert "| `tests/fixtures_github/equiv_noisy.py::crash_pair` | 💥 |" in text


def test_usage_errors_are_annotated_on_github():
    env = {"GITHUB_ACTIONS": "true"}
    bad_shard = tf_equiv("check", "tests/fixtures_github", "--shard", "3/2", env=env)
    assert bad_shard.returncode == 2
    assert bad_shard.stdout.startswith("::error title=tf-equiv%3A usage error::Invalid value for "
                                       "'--shard': shard 3 of 2: I must be between 1 and N")
    no_match = tf_equiv("check", "tests/fixtures_github", "--select", "nothing_*", env=env)
    assert no_match.returncode == 2
    assert runner_commands(no_match.stdout) == [
        ("error", " title=tf-equiv%3A usage error", "--select nothing_* matches no pair or check")]
    off = tf_equiv("check", "tests/fixtures_github", "--select", "nothing_*", "--no-github",
                   env=env)
    assert off.returncode == 2 and off.stdout == ""
    assert not os.path.exists(os.path.join(ROOT, "tf-equiv-report.xml"))


def test_the_report_is_readable_by_others(tmp_path):
    from tf_equiv.report import junit

    path = tmp_path / "report.xml"
    junit.write(Report(()), str(path))
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


# ---- the job summary, read as GitHub reads it ---------------------------------------------------

#: Names and messages a model, an op or a hand-edited report may carry: each tries to close a
#: fence, start a heading, split a table cell or become an HTML element.
HOSTILE = ("k\n```\n<img src=x>\n# PWNED\n",
           "k\r```\r<img src=x>\r# PWNED\r",
           "x | <b>PWNED</b> | ` ``` ",
           "</details><img src=x onerror=alert(1)>\u2028# PWNED")
#: The only HTML the summary writes itself: a fold for a long detail.
OWN_HTML = {"<details><summary>details</summary>", "</details>"}
MERMAID_LINE = re.compile(r'xychart-beta|    title "[^"`\n]*"|    x-axis \[("[^"`\n]*"(, )?)+\]'
                          r'|    x-axis \[[\d, ]+\]|    y-axis "[\w ]+"( -12 --> 3)?'
                          r"|    (bar|line) \[[-\d., ]*\]")


def _hostile_report() -> Report:
    """Every user string of every section (table, diagnosis, training runs, failures with a
    record table, an endpoint chart and a folded detail, warnings) set to hostile text."""
    pairs = []
    for i, text in enumerate(HOSTILE):
        module, pair = f"m{i}{text}.py", f"p{i}{text}"
        records = (compare_arrays(f"outputs/{text}", np.ones(3, np.float32),
                                  np.full(3, 1.1, np.float32), 1e-6, 1e-5),
                   compare_arrays("outputs/b", np.ones(3, np.float32), np.ones(3, np.float32),
                                  1e-6, 1e-5))
        problem = replace(records[0], name=f"gradients/{text}", problem="shape", note=text)
        series = (("step", (0.0, 10.0, 20.0)), ("loss_tf1", (1.0, 0.5, 0.25)),
                  ("loss_tf2", (1.0, 0.5, 0.3)), ("divergence", (0.0, 1e-7, 0.1)),
                  ("band", (1e-6, 1e-6, 1e-6)))
        cases = (
            CaseResult(module, pair, f"c{text}", "failed", text, detail=text,
                       records=(*records, problem), warnings=(text,), place=text,
                       explanation=f"Explanation: {text}"),
            CaseResult(module, pair, "gradients", "error", f"gradients: {text}", detail=text),
            CaseResult(module, pair, "training_run", "passed", f"training_run: {text}",
                       series=series))
        pairs.append(PairResult(module, pair, cases))
    return Report(tuple(pairs), 1.0)


def _tokens(markdown: str) -> list:
    """Every token of the summary as a CommonMark reader with GitHub's tables sees it."""
    from markdown_it import MarkdownIt
    out = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        out.append(token)
        out += token.children or []
    return out


def _one_line(text: str) -> str:
    return re.sub(r"\r\n|[\n\r\u2028]", " ", text)


def test_no_user_string_escapes_its_place_in_the_job_summary():
    text = github.summary(_hostile_report(), html=f"out/{HOSTILE[0]}report.html")
    tokens = _tokens(text)
    # No element, image or link comes from a user string: only the summary's own fold.
    assert {t.content.strip() for t in tokens if t.type.startswith("html_")} <= OWN_HTML
    assert [t.type for t in tokens if t.type in ("image", "link_open")] == []
    # The headings are the summary's own: its title, its sections and one per failure, each
    # naming the case in code.
    headings = [tokens[i + 1] for i, t in enumerate(tokens) if t.type == "heading_open"]
    cases = [c for c in _hostile_report().cases if c.verdict in ("failed", "error")]
    assert [h.content for h in headings[1:4] + headings[-1:]] == [
        "Diagnosis", "Training runs", "Failures", "Warnings"]
    assert len(headings) == 5 + len(cases)
    for heading, case in zip(headings[4:-1], cases):
        code = [c.content for c in heading.children if c.type == "code_inline"]
        assert code == [_one_line(case.id)]
        assert "PWNED" not in "".join(c.content for c in heading.children if c.type == "text")
    # Each message and detail is one fenced block holding the text whole.
    blocks = [t.content for t in tokens if t.type == "fence" and t.info == "text"]
    for case in cases:
        message = case.message.rstrip().replace("\r", "\n") + "\n"
        assert message in blocks
    # Mermaid charts: one per failing check with endpoints, two per training run, each with
    # only the chart's own statements (the labels on one line, without quotes or backticks).
    charts = [t.content for t in tokens if t.type == "fence" and t.info == "mermaid"]
    assert len(charts) == 3 * len(HOSTILE)
    for chart in charts:
        for line in chart.splitlines():
            assert MERMAID_LINE.fullmatch(line), line
    assert 'x-axis ["k \'\'\' _img src=x_ _ PWNED ", "b"]' in text
    # Table cells keep a name whole, pipes included, and a note as plain text.
    code = {t.content for t in tokens if t.type == "code_inline"}
    for module, pair in ((p.module, p.pair) for p in _hostile_report().pairs):
        assert _one_line(f"{module}::{pair}") in code
    for name in HOSTILE:
        assert _one_line(f"outputs/{name}") in code and _one_line(f"gradients/{name}") in code
    cells = ["".join(c.content for c in t.children) for t in tokens
             if t.type == "inline" and t.children and t.children[0].type == "text"]
    assert [_one_line(name).strip() in cells for name in HOSTILE] == [True] * len(HOSTILE)
