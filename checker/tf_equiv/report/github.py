"""GitHub Actions: workflow-command annotations, a grouped and fenced log, the job summary and the
step outputs. Formats a finished Report; computes nothing about the numbers.

Workflow commands are escaped as the Actions toolkit does (`command.ts`): `%`, CR and LF in data;
also `:` and `,` in properties. Every line that carries text from the user's code or TensorFlow is
printed between `::stop-commands::<token>` and `::<token>::`, so that a model cannot inject a
command into the workflow.

No `from __future__ import annotations` here: it would bind the name `annotations`, which this
module's public `annotations()` takes (the annotations below are all valid at run time).
"""
import math
import os
import re
import secrets
from typing import Iterator, Optional, Sequence, TextIO

from tf_equiv.checks import ALL_CHECKS
from tf_equiv.report import terminal
from tf_equiv.results import (
    MODULE_CASE,
    CaseResult,
    PairResult,
    Report,
    Verdict,
    comparison_words,
    diagnosis,
    own_words,
    short,
    summary_line,
    verdict_counts,
)

#: The platform shows at most this many annotations of each kind per step.
MAX_ERRORS = 10
MAX_WARNINGS = 10
#: GitHub refuses a step summary over 1 MiB; keep room for the truncation note.
SUMMARY_LIMIT = 1024 * 1024 - 4096
#: log10 of a relative difference of exactly zero, on the chart.
ZERO_LOG = -12

ICONS: dict[Verdict, str] = {"passed": "✅", "failed": "❌", "error": "💥", "skipped": "⏭️",
                             "xfailed": "✔️", "xpassed": "⚠️"}
LEGEND = ("✅ passed · ❌ failed · 💥 error (a side could not run) · ⏭️ skipped · "
          "✔️ xfailed (expected failure) · ⚠️ xpassed · — not run")


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: object) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items()
                     if v not in (None, ""))
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


class Fence:
    """Stops workflow commands while text the user controls is printed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.token = secrets.token_hex(16)
        self.stopped = False

    def stop(self) -> None:
        if not self.stopped:
            self.stream.write(f"::stop-commands::{self.token}\n")
            self.stream.flush()
            self.stopped = True

    def resume(self) -> None:
        if self.stopped:
            self.stream.write(f"::{self.token}::\n")
            self.stream.flush()
            self.stopped = False


def usage_error(message: str, stream: TextIO) -> None:
    stream.write(command("error", message, title="tf-equiv: usage error") + "\n")
    stream.flush()


# ---- annotations -------------------------------------------------------------------------------

def _repo_path(path: str) -> str:
    """The path as the workflow sees it: relative to the workspace."""
    if not path:
        return ""
    root = os.environ.get("GITHUB_WORKSPACE") or os.getcwd()
    rel = os.path.relpath(os.path.abspath(path), root)
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def _grouped(cases: Sequence[CaseResult]) -> list[list[CaseResult]]:
    """Cases of one pair with the same verdict and message (a side that crashed) become one."""
    groups: dict[tuple[str, str, Verdict, str], list[CaseResult]] = {}
    for case in cases:
        groups.setdefault((case.module, case.pair, case.verdict, own_words(case)),
                          []).append(case)
    return list(groups.values())


def _annotation_text(cases: Sequence[CaseResult], limit: int = 4000) -> tuple[str, str]:
    first = cases[0]
    checks = ", ".join(c.check for c in cases)
    if first.check == MODULE_CASE:
        title = f"tf-equiv: {first.module}: {first.verdict}"
    else:
        title = f"tf-equiv: {first.pair}::{checks} {first.verdict}"
    body = first.message if len(cases) == 1 else own_words(first)
    if first.detail:
        lines = first.detail.rstrip().splitlines()
        body += "\n\n" + "\n".join(lines[:20]) + ("\n..." if len(lines) > 20 else "")
    if len(body) > limit:
        body = body[:limit] + "\n... (see the job log or the JUnit report)"
    return title, body


def annotations(report: Report) -> list[str]:
    """Workflow commands: the errors, then the warnings, each ranked by severity and capped at
    the platform's limit; the rest are counted in one notice."""
    bad = [c for c in report.cases if c.verdict in ("error", "failed")]
    # A pair that could not run hides every number: those first, then divergences.
    errors = sorted(_grouped(bad), key=lambda g: (g[0].check != MODULE_CASE,
                                                  g[0].verdict != "error"))
    warnings: list[tuple[CaseResult, str]] = []
    for case in report.cases:
        if case.verdict == "xpassed":
            warnings.append((case, "xpassed: the check passes although it is marked xfail; "
                                   "remove the mark. " + case.message))
    for case in report.cases:
        warnings += [(case, w) for w in case.warnings]
    lines = []
    for group in errors[:MAX_ERRORS]:
        title, body = _annotation_text(group)
        lines.append(command("error", body, file=_repo_path(group[0].file or group[0].module),
                             line=group[0].line or None, title=title))
    for case, text in warnings[:MAX_WARNINGS]:
        lines.append(command("warning", text, file=_repo_path(case.file or case.module),
                             line=case.line or None, title=f"tf-equiv: {case.name}"))
    more_errors = max(0, len(errors) - MAX_ERRORS)
    more_warnings = max(0, len(warnings) - MAX_WARNINGS)
    if more_errors or more_warnings:
        lines.append(command("notice", f"{more_errors} more errors and {more_warnings} more "
                             "warnings were not annotated (GitHub shows at most "
                             f"{MAX_ERRORS} of each); the job summary and the JUnit report "
                             "have them all", title="tf-equiv: more results"))
    return lines


# ---- the log -----------------------------------------------------------------------------------

def log(report: Report, stream: TextIO, fence: Fence) -> None:
    """The terminal report, one `::group::` per module, user text fenced; then the annotations."""
    modules = list(dict.fromkeys(p.module for p in report.pairs))
    for module in modules:
        pairs = [p for p in report.pairs if p.module == module]
        counts = verdict_counts(c for p in pairs for c in p.cases)
        text = ", ".join(f"{n} {v}" for v, n in counts.items())
        stream.write(command("group", f"{module}: {text}") + "\n")
        fence.stop()
        for pair in pairs:
            terminal.progress(pair, 0, 0, stream, numbered=False)
        terminal.failures([c for p in pairs for c in p.cases], stream)
        fence.resume()
        stream.write("::endgroup::\n")
    fence.stop()
    terminal.final(report, stream, show_failures=False)
    fence.resume()
    for line in annotations(report):
        stream.write(line + "\n")
    stream.flush()


# ---- the job summary ---------------------------------------------------------------------------

def _longest_backticks(text: str) -> int:
    return max((len(run) for run in re.findall("`+", text)), default=0)


#: Every character that ends a line for some Markdown or Mermaid reader (CommonMark's CR and LF,
#: and what Python's `splitlines` also splits on): text the user controls never starts a line.
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")


def _one_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text)


def _code(text: str, cell: bool = False) -> str:
    """Inline code that no backtick or line break in `text` can break out of; in a table `cell`,
    no pipe either (GFM splits cells before it reads code spans)."""
    text = _one_line(text)
    if cell:
        text = text.replace("|", "\\|")
    ticks = "`" * (_longest_backticks(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _text(text: str) -> str:
    """Plain text in a table cell: on one line, and every character that could start an inline
    construct (emphasis, link, image, raw HTML, entity, code, a cell's end) escaped."""
    return re.sub(r"([\\`*_\[\]<>&|!~])", r"\\\1", _one_line(text))


def _block(text: str) -> str:
    """A fenced code block longer than any run of backticks in `text`."""
    fence = "`" * max(3, _longest_backticks(text) + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def _table(report: Report) -> Iterator[str]:
    used = {c.check for c in report.cases if c.check != MODULE_CASE}
    columns = [c for c in ALL_CHECKS if c in used] + sorted(used - set(ALL_CHECKS))
    yield "| pair | " + " | ".join(_code(c, cell=True) for c in columns) + " |\n"
    yield "|---|" + "---|" * len(columns) + "\n"
    for pair in report.pairs:
        found = {c.check: c.verdict for c in pair.cases}
        if pair.pair == MODULE_CASE:
            yield (f"| {_code(pair.module, cell=True)} | {ICONS[pair.cases[0].verdict]} module error |"
                   + " |" * max(0, len(columns) - 1) + "\n")
            continue
        cells = [ICONS.get(found[c], found[c]) if c in found else "—" for c in columns]
        yield (f"| {_code(pair.module + '::' + pair.pair, cell=True)} | " + " | ".join(cells)
               + " |\n")


def _record_table(case: CaseResult) -> str:
    failing = [r for r in case.records if not r][:20]
    if not failing:
        return ""
    rows = ["| record | max abs | max rel | worst index | mismatched | would pass with |",
            "|---|---|---|---|---|---|"]
    for r in failing:
        if r.problem:
            rows.append(f"| {_code(r.name, cell=True)} | {_text(r.note)} | | | | |")
        else:
            rows.append(f"| {_code(r.name, cell=True)} | {short(r.max_abs)} | {short(r.max_rel)} | "
                        f"{_code(str(r.worst_index), cell=True)} | {r.mismatched}/{r.total} | "
                        f"rtol={short(r.needed_rtol)} or atol={short(r.needed_atol)} |")
    return "\n".join(rows) + "\n"


def _mermaid(text: str) -> str:
    """Text inside a quoted Mermaid string: one line of letters, digits and plain punctuation.
    Anything else (a quote, a backtick that could close the Markdown fence, `<`, `#`, `%`) is
    replaced: a chart label is for reading, the record's exact name is in the table above."""
    text = re.sub(r"\s", " ", text).replace('"', "'").replace("`", "'")
    return re.sub(r"[^\w .,:;/+=()\[\]'*-]", "_", text)


def _label(name: str) -> str:
    return _mermaid(name.removeprefix("outputs/"))[-40:]


def endpoint_chart(case: CaseResult) -> str:
    """A Mermaid xychart of log10(max relative difference) per endpoint, in forward order, with
    the tolerance: the first point above the tolerance line is the first divergence."""
    points = [r for r in terminal.endpoints(case) if not r.problem]
    if len(points) < 2:
        return ""

    def log10(x: float) -> str:
        if x <= 0:
            return str(ZERO_LOG)
        if math.isinf(x):
            return "3"
        return f"{max(ZERO_LOG, math.log10(x)):.2f}"

    labels = ", ".join(f'"{_label(r.name)}"' for r in points)
    values = ", ".join(log10(r.max_rel) for r in points)
    tolerance = ", ".join(log10(r.rtol) for r in points)
    return ("```mermaid\nxychart-beta\n"
            f'    title "{_mermaid(case.check)}: max relative difference per endpoint (log10)"\n'
            f"    x-axis [{labels}]\n"
            f'    y-axis "log10 max rel diff" {ZERO_LOG} --> 3\n'
            f"    bar [{values}]\n"
            f"    line [{tolerance}]\n```\n"
            f"Bars: log10 of the max relative difference of each endpoint, in forward order "
            f"(exactly equal shown as {ZERO_LOG}); line: the rtol.\n")


def training_charts(case: CaseResult) -> str:
    """Mermaid xycharts of a training run: both sides' loss per step, then the divergence of the
    sides against the noise band (log10); the check fails where the first line crosses the
    second."""
    series = dict(case.series)
    steps = series.get("step", ())
    if len(steps) < 2:
        return ""
    axis = ", ".join(str(int(s)) for s in steps)

    def values(name: str, log: bool = False) -> str:
        out = []
        for v in series.get(name, ()):
            if not math.isfinite(v):
                v = 3.0 if log else 0.0
            elif log:
                v = ZERO_LOG if v <= 0 else max(ZERO_LOG, math.log10(v))
            out.append(f"{v:.4g}")
        return ", ".join(out)

    return ("```mermaid\nxychart-beta\n"
            f'    title "{_mermaid(case.pair)}: loss per step, TF1 and TF2"\n'
            f"    x-axis [{axis}]\n"
            '    y-axis "loss"\n'
            f"    line [{values('loss_tf1')}]\n"
            f"    line [{values('loss_tf2')}]\n```\n"
            "```mermaid\nxychart-beta\n"
            f'    title "{_mermaid(case.pair)}: divergence of the sides and the noise band (log10)"\n'
            f"    x-axis [{axis}]\n"
            f'    y-axis "log10 relative" {ZERO_LOG} --> 3\n'
            f"    line [{values('divergence', True)}]\n"
            f"    line [{values('band', True)}]\n```\n"
            "First chart: the loss before each step, TF1 then TF2. Second: how far TF2's loss is "
            "from TF1's, then the band the run's own noise allows; the check fails where the "
            "first line rises above the second.\n")


def _training_section(cases: list) -> str:
    return "### Training runs\n\n" + "".join(
        f"{ICONS[c.verdict]} {_code(c.id)}: {_code(comparison_words(c))}\n\n"
        f"{training_charts(c)}\n" for c in cases)


def _failure_section(case: CaseResult) -> str:
    parts = [f"### {ICONS[case.verdict]} {_code(case.id)}\n", _block(case.message) + "\n"]
    table = _record_table(case)
    if table:
        parts.append(table)
    chart = endpoint_chart(case)
    if chart:
        parts.append(chart)
    if case.detail and not table:
        lines = case.detail.rstrip().splitlines()
        parts.append("<details><summary>details</summary>\n\n"
                     + _block("\n".join(lines[:60]) + ("\n..." if len(lines) > 60 else ""))
                     + "\n</details>\n")
    return "\n".join(parts) + "\n"


def _diagnosis(pair: PairResult, causes: list) -> str:
    lines = [f"**{_code(pair.module + '::' + pair.pair)}**\n"]
    for cause in causes:
        lines.append(f"- {_code(cause.title)}")
        lines.append(f"  - checks: {_code(cause.checks)}")
        if cause.place:
            lines.append(f"  - where: {_code(cause.place)}")
        lines += [f"  - evidence: {_code(line)}" for line in cause.evidence]
        if cause.next_step:
            lines.append(f"  - next: {_code(cause.next_step)}")
    return "\n".join(lines) + "\n\n"


def summary(report: Report, limit: int = SUMMARY_LIMIT, html: Optional[str] = None) -> str:
    """The job summary in Markdown, at most `limit` bytes (sections that do not fit are counted)."""
    line = summary_line(report.counts(), report.duration, report.note)
    head = f"## tf-equiv: {'interrupted: ' if report.interrupted else ''}{line}\n\n"
    if html:
        head += (f"The HTML report (charts, diagnosis per pair) is {_code(html)}: upload it with "
                 "the JUnit report to open it.\n\n")
    sections = ["".join(_table(report)) + f"\n{LEGEND}\n\n"]
    causes = [(pair, diagnosis(pair)) for pair in report.pairs if pair.pair != MODULE_CASE]
    causes = [(pair, found) for pair, found in causes if found]
    if causes:
        sections.append("### Diagnosis\n\n" + "".join(_diagnosis(pair, found)
                                                      for pair, found in causes))
    trained = [c for c in report.cases if len(dict(c.series).get("step", ())) > 1]
    if trained:
        sections.append(_training_section(trained))
    bad = [c for c in report.cases if c.verdict in ("failed", "error")]
    if bad:
        sections.append("### Failures\n\n")
    sections += [_failure_section(c) for c in bad]
    warned = [c for c in report.cases if c.warnings]
    if warned:
        sections.append("### Warnings\n\n" + "".join(
            f"- {_code(c.id)}: {_code(w)}\n" for c in warned for w in c.warnings) + "\n")
    out = head
    size = len(out.encode())
    for i, section in enumerate(sections):
        cost = len(section.encode())
        if size + cost > limit:
            out += (f"\n**Summary truncated:** {len(sections) - i} more sections did not fit "
                    "GitHub's 1 MiB limit; the JUnit report has every result.\n")
            break
        out += section
        size += cost
    return out


# ---- step outputs ------------------------------------------------------------------------------

def outputs(report: Report, junit_xml: Optional[str],
            html: Optional[str] = None) -> dict[str, str]:
    """The action's outputs (action.yml): xfailed counts as skipped, xpassed as passed."""
    counts = report.counts()
    return {"junit-xml": junit_xml or "", "html": html or "", "total": str(len(report.cases)),
            "passed": str(counts["passed"] + counts["xpassed"]), "failed": str(counts["failed"]),
            "errors": str(counts["error"]), "skipped": str(counts["skipped"] + counts["xfailed"])}


def write_files(report: Report, junit_xml: Optional[str], html: Optional[str] = None) -> None:
    """Append the job summary and the outputs to the files the runner names, when it does."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as f:
            f.write(summary(report, html=html))
    output_file = os.environ.get("GITHUB_OUTPUT")
    if output_file:
        with open(output_file, "a", encoding="utf-8") as f:
            for key, value in outputs(report, junit_xml, html).items():
                if "\n" in value or "\r" in value:
                    delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
                    f.write(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")
                else:
                    f.write(f"{key}={value}\n")
