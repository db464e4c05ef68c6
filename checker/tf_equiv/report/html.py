"""--html FILE: the finished report as one self-contained page, for people who would rather look
than read. No network and no other file: the style, the charts (inline SVG) and a few lines of
script are in the page. A pure reporter: it reads the Report, nothing else.

The page: the summary; a pairs x checks table of verdicts and margins; per pair its diagnosis
(each cause with the checks it explains, the place, the evidence and the next step), its
environment and compat fixes; per failing check its message, a chart of the error per endpoint in
forward order (log scale, the tolerance line, the first divergence marked), where the difference
lies in the failing record (per channel), the record statistics and the details (variable diff and
name_map, randomness audit, explanation variations, localization). Every pair and check has an
anchor (`#pair-...`, `#case-...`) that a CI log can point into.
"""
from __future__ import annotations

import hashlib
import html
import math
import os
import re
from typing import Any, Iterable, Optional, Sequence

from tf_equiv.files import atomic_write
from tf_equiv.report.terminal import endpoints
from tf_equiv.results import CaseResult, PairResult, Report, diagnosis, short, summary_line

#: Written into every page, so that a later run may replace it (see plan/destinations.py).
GENERATOR = "tf-equiv"
MARK = '<meta name="generator" content="tf-equiv">'

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328}
header{background:#24292f;color:#fff;padding:14px 24px}
header h1{font-size:18px;margin:0 0 4px}
main{padding:16px 24px;max-width:1200px}
h2{font-size:17px;border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:28px}
h3{font-size:15px;margin:18px 0 6px}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
table{border-collapse:collapse;margin:6px 0}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
.grid td{text-align:center;white-space:nowrap}
.v{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600}
.passed,.xfailed{background:#dafbe1;color:#116329}
.failed,.error{background:#ffebe9;color:#a40e26}
.skipped,.xpassed{background:#fff8c5;color:#7d4e00}
.margin{color:#57606a;font-size:12px}
pre{background:#f6f8fa;padding:8px;overflow-x:auto;font-size:12.5px;white-space:pre-wrap}
.cause{border-left:4px solid #cf222e;padding:4px 12px;margin:8px 0;background:#fff}
.cause p{margin:3px 0}
.case{border:1px solid #d0d7de;border-radius:6px;padding:6px 14px;margin:12px 0}
.msg{font-family:ui-monospace,monospace;font-size:12.5px}
.muted{color:#57606a}
#only-bad:checked ~ .grid tr.ok{display:none}
svg text{font:11px system-ui,sans-serif;fill:#57606a}
"""

# Marks the page as loaded, and any script error on it, for whoever opens it (a browser test).
_SCRIPT = """
window.addEventListener("error", function (e) {
  document.body.dataset.errors = (document.body.dataset.errors || "") + e.message + "\\n";
});
document.addEventListener("DOMContentLoaded", function () {
  var rows = document.querySelectorAll("tr[data-pair]");
  document.getElementById("count").textContent = rows.length + " pairs";
  document.body.dataset.ready = "1";
});
"""


def anchor(kind: str, ident: str) -> str:
    """A stable, unique anchor for a pair or case id: readable, plus a short hash of the id."""
    readable = re.sub(r"[^A-Za-z0-9]+", "-", ident).strip("-")[-60:]
    return f"{kind}-{readable}-{hashlib.sha256(ident.encode()).hexdigest()[:8]}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _times(value: float) -> str:
    if math.isinf(value):
        return "="
    return f"{value:.1f}x" if value < 10 else f"{value:.0f}x"


def _checks(report: Report) -> list[str]:
    return list(dict.fromkeys(c.check for p in report.pairs for c in p.cases
                              if c.check != "<module>"))


def _grid(report: Report) -> Iterable[str]:
    checks = _checks(report)
    yield '<input type="checkbox" id="only-bad"> <label for="only-bad">only pairs with a ' \
        'failure or error</label>'
    yield '<table class="grid"><tr><th>pair</th>'
    yield "".join(f"<th>{_e(c)}</th>" for c in checks) + "</tr>"
    for pair in report.pairs:
        bad = any(c.verdict in ("failed", "error") for c in pair.cases)
        ident = f"{pair.module}::{pair.pair}"
        yield (f'<tr data-pair="{_e(ident)}" class="{"bad" if bad else "ok"}">'
               f'<th><a href="#{anchor("pair", ident)}">{_e(ident)}</a></th>')
        by_check = {c.check: c for c in pair.cases}
        for check in checks:
            case = by_check.get(check) or (by_check.get("<module>") if len(by_check) == 1 else None)
            if case is None:
                yield "<td></td>"
                continue
            margin = f' <span class="margin">{_times(case.margin)}</span>' \
                if case.verdict == "passed" and case.margin is not None else ""
            yield (f'<td><a href="#{anchor("case", case.id)}" title="{_e(case.message)}">'
                   f'<span class="v {case.verdict}">{case.verdict}</span></a>{margin}</td>')
        yield "</tr>"
    yield "</table>"


def _diagnosis(pair: PairResult) -> Iterable[str]:
    causes = diagnosis(pair)
    if not causes:
        return
    yield "<h3>Diagnosis</h3>"
    for cause in causes:
        links = ", ".join(f'<a href="#{anchor("case", c.id)}">{_e(c.check)}</a>'
                          for c in cause.cases)
        yield f'<div class="cause"><p><b>{_e(cause.title)}</b></p><p>checks: {links}</p>'
        if cause.place:
            yield f"<p>where: {_e(cause.place)}</p>"
        for line in cause.evidence:
            yield f'<p class="muted">{_e(line)}</p>'
        if cause.next_step:
            yield f"<p>next: {_e(cause.next_step)}</p>"
        yield "</div>"


def endpoint_svg(case: CaseResult, width: int = 720, height: int = 220) -> str:
    """The error per endpoint in forward order: log10 of the max relative difference, the rtol
    line, the first divergence marked. Empty when the case has fewer than two endpoints."""
    points: list[Any] = endpoints(case)
    if not points:
        return ""
    first_bad = next((r for r in points if not r), None)
    floor, top = -12.0, 2.0

    def level(r: Any) -> float:
        if r.problem:
            return top
        return max(floor, min(top, math.log10(r.max_rel))) if r.max_rel > 0 else floor

    left, bottom, right = 44, height - 22, width - 10
    x_step = (right - left) / max(1, len(points) - 1)

    def y(v: float) -> float:
        return 10 + (top - v) / (top - floor) * (bottom - 10)

    parts = [f'<svg class="chart" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>error per endpoint of {_e(case.check)}, in forward order</title>",
             f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#d0d7de"/>']
    for tick in range(int(floor), int(top) + 1, 2):
        parts.append(f'<text x="4" y="{y(tick) + 4:.1f}">1e{tick}</text>'
                     f'<line x1="{left}" y1="{y(tick):.1f}" x2="{right}" y2="{y(tick):.1f}" '
                     'stroke="#eaeef2"/>')
    rtol = points[0].rtol
    if rtol > 0:
        ry = y(max(floor, math.log10(rtol)))
        parts.append(f'<line class="tolerance" x1="{left}" y1="{ry:.1f}" x2="{right}" '
                     f'y2="{ry:.1f}" stroke="#bf8700" stroke-dasharray="5,4"/>'
                     f'<text x="{right - 70}" y="{ry - 4:.1f}">rtol {_e(short(rtol))}</text>')
    path = " ".join(f"{left + i * x_step:.1f},{y(level(r)):.1f}" for i, r in enumerate(points))
    parts.append(f'<polyline points="{path}" fill="none" stroke="#8c959f"/>')
    for i, r in enumerate(points):
        cx, cy = left + i * x_step, y(level(r))
        colour = "#1a7f37" if r else "#cf222e"
        value = r.note if r.problem else f"max rel {short(r.max_rel)}, max abs {short(r.max_abs)}"
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{colour}">'
                     f"<title>{_e(r.name)}: {_e(value)}</title></circle>")
        if r is first_bad:
            parts.append(f'<line class="first-divergence" x1="{cx:.1f}" y1="10" x2="{cx:.1f}" '
                         f'y2="{bottom}" stroke="#cf222e" stroke-dasharray="2,3"/>'
                         f'<text x="{min(cx + 4, right - 200):.1f}" y="22" fill="#cf222e">'
                         f"first divergence: {_e(points[i].name)}</text>")
    parts.append(f'<text x="{left}" y="{height - 6}">{_e(points[0].name)}</text>'
                 f'<text x="{right - 160}" y="{height - 6}">{_e(points[-1].name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


#: The most bars a channel chart draws: more than the chart has pixels tell nothing more, and a
#: record read from a report may carry any number of channels (200 000 would make a 23 MB page).
MAX_BARS = 256


def channel_svg(case: CaseResult, width: int = 720, height: int = 90) -> str:
    """Where the difference lies in the first failing record: its largest difference per channel
    (the last axis), as bars; past MAX_BARS channels, each bar is the largest of a run of
    neighbouring channels, and the caption says so."""
    record: Any = next((r for r in case.records if not r and r.channels), None)
    if record is None:
        return ""
    channels = list(record.channels)
    per_bar = math.ceil(len(channels) / MAX_BARS)
    values = [max(channels[i:i + per_bar]) for i in range(0, len(channels), per_bar)]
    top = max(values) or 1.0
    bar = (width - 20) / len(values)
    parts = [f'<svg class="channels" role="img" width="{width}" height="{height + 18}" '
             f'viewBox="0 0 {width} {height + 18}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>largest difference per channel of {_e(record.name)}</title>"]
    for i, value in enumerate(values):
        h = max(1.0, value / top * height) if value > 0 else 0.0
        first, last = i * per_bar, min(len(channels), (i + 1) * per_bar) - 1
        which = f"channel {first}" if first == last else f"channels {first} to {last}"
        parts.append(f'<rect x="{10 + i * bar:.1f}" y="{height - h:.1f}" '
                     f'width="{max(1.0, bar - 1):.1f}" height="{h:.1f}" fill="#cf222e">'
                     f"<title>{which}: max abs diff {_e(short(value))}</title></rect>")
    drawn = f"; drawn as {len(values)} bars, each the largest of {per_bar} neighbouring " \
        "channels" if per_bar > 1 else ""
    parts.append(f'<text x="10" y="{height + 14}">{_e(record.name)}: largest difference per '
                 f"channel ({len(channels)} channels, max {_e(short(top))}{drawn})</text></svg>")
    return "".join(parts)


def _record_table(case: CaseResult) -> str:
    rows = [r for r in case.records if not r][:20] or list(case.records)[:10]
    if not rows:
        return ""
    head = ("record", "shape", "max abs", "max rel", "mismatched", "rtol needed")
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(v)}</td>" for v in (
            r.name, "x".join(map(str, r.shape)) or "scalar",
            r.note if r.problem else short(r.max_abs), "" if r.problem else short(r.max_rel),
            f"{r.mismatched}/{r.total}", "" if r.problem else short(r.needed_rtol))) + "</tr>"
        for r in rows)
    return ("<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + f"</tr>{body}</table>")


def training_svg(case: CaseResult, width: int = 720, height: int = 150) -> str:
    """A training run's two panels: the loss of both sides per step, then the divergence of the
    sides against the noise band (log scale), the step where they part marked."""
    series = dict(case.series)
    steps = list(series.get("step", ()))
    if len(steps) < 2:
        return ""
    left, right = 54, width - 10
    x_of = {s: left + (s - steps[0]) / (steps[-1] - steps[0]) * (right - left) for s in steps}

    def panel(lines: list, log: bool, title: str, colours: tuple) -> list[str]:
        def value(v: float) -> float:
            if log:
                return math.log10(v) if v > 0 and math.isfinite(v) else -12.0
            return v if math.isfinite(v) else 0.0
        values = [value(v) for _, line in lines for v in line]
        low, high = min(values), max(values)
        if high - low < 1e-12:
            low, high = low - 1, high + 1
        top, bottom = 22, height - 22

        def y(v: float) -> float:
            return bottom - (value(v) - low) / (high - low) * (bottom - top)
        parts = [f'<svg class="training" role="img" width="{width}" height="{height}" '
                 f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
                 f"<title>{_e(title)}</title>",
                 f'<text x="{left}" y="14">{_e(title)}</text>',
                 f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#d0d7de"/>']
        for label, v in (("high", high), ("low", low)):
            shown = f"1e{v:.0f}" if log else f"{v:.4g}"
            parts.append(f'<text x="2" y="{top + 4 if label == "high" else bottom:.1f}">'
                         f"{_e(shown)}</text>")
        for (name, line), colour in zip(lines, colours):
            points = " ".join(f"{x_of[s]:.1f},{y(v):.1f}" for s, v in zip(steps, line))
            parts.append(f'<polyline class="{_e(name)}" points="{points}" fill="none" '
                         f'stroke="{colour}"><title>{_e(name)}</title></polyline>')
        parts.append(f'<text x="{left}" y="{height - 6}">step {steps[0]:.0f}</text>'
                     f'<text x="{right - 70}" y="{height - 6}">step {steps[-1]:.0f}</text>')
        return parts

    loss = panel([("TF1 loss", series.get("loss_tf1", ())), ("TF2 loss", series.get("loss_tf2", ()))],
                 False, f"{case.pair}: loss per step (TF1 blue, TF2 orange)",
                 ("#0969da", "#bc4c00"))
    loss.append("</svg>")
    divergence, band = series.get("divergence", ()), series.get("band", ())
    gap = panel([("divergence", divergence), ("noise band", band)], True,
                "divergence of the sides (red) and the noise band (grey), log scale",
                ("#cf222e", "#8c959f"))
    out = next((s for s, d, b in zip(steps, divergence, band) if not d <= b), None)
    if out is not None:
        gap.append(f'<line class="parting" x1="{x_of[out]:.1f}" y1="22" x2="{x_of[out]:.1f}" '
                   f'y2="{height - 22}" stroke="#cf222e" stroke-dasharray="2,3"/>'
                   f'<text x="{min(x_of[out] + 4, right - 160):.1f}" y="34" fill="#cf222e">'
                   f"leaves the band at step {out:.0f}</text>")
    gap.append("</svg>")
    return "".join(loss) + "".join(gap)


def _case(case: CaseResult) -> Iterable[str]:
    yield (f'<div class="case" id="{anchor("case", case.id)}"><h3><span class="v '
           f'{case.verdict}">{case.verdict}</span> {_e(case.check)}</h3>')
    yield f'<p class="msg">{_e(case.message)}</p>'
    chart = endpoint_svg(case)
    if chart:
        yield chart
    yield channel_svg(case)
    yield training_svg(case)
    yield _record_table(case)
    if case.detail:
        yield f"<pre>{_e(case.detail.rstrip())}</pre>"
    for warning in case.warnings:
        yield f'<p class="muted">warning: {_e(warning)}</p>'
    yield "</div>"


def _pair(pair: PairResult) -> Iterable[str]:
    ident = f"{pair.module}::{pair.pair}"
    yield f'<section id="{anchor("pair", ident)}"><h2>{_e(ident)}</h2>'
    counts: dict[str, int] = {}
    for case in pair.cases:
        counts[case.verdict] = counts.get(case.verdict, 0) + 1
    yield ("<p>" + ", ".join(f'<span class="v {v}">{n} {v}</span>' for v, n in counts.items())
           + f' <span class="muted">{pair.duration:.1f} s</span></p>')
    yield from _diagnosis(pair)
    bad = [c for c in pair.cases if c.verdict in ("failed", "error", "xpassed")]
    for case in bad:
        yield from _case(case)
    good = [c for c in pair.cases if c not in bad]
    for case in good:
        if case.series:      # a training run that passed: its curves still tell how close
            yield f'<div class="case"><h3>{_e(case.check)}</h3>{training_svg(case)}</div>'

    if good:
        yield "<h3>Other checks</h3><table>"
        for case in good:
            yield (f'<tr id="{anchor("case", case.id)}"><td><span class="v {case.verdict}">'
                   f"{case.verdict}</span></td><td>{_e(case.check)}</td>"
                   f'<td class="msg">{_e(case.message)}</td></tr>')
        yield "</table>"
    if pair.environment:
        yield "<h3>Environment</h3><table>" + "".join(
            f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pair.environment.items())
        if pair.compat_fixes:
            yield f"<tr><th>compat fixes</th><td>{_e(', '.join(pair.compat_fixes))}</td></tr>"
        yield "</table>"
    yield "</section>"


def to_html(report: Report, title: str = "tf-equiv report") -> str:
    line = summary_line(report.counts(), report.duration, report.note)
    if report.interrupted:
        line = "interrupted: " + line
    body = [f"<header><h1>{_e(title)}</h1><div>{_e(line)} · <span id=\"count\"></span></div>"
            "</header><main>", "<h2>Pairs and checks</h2>", *_grid(report)]
    for pair in report.pairs:
        body.extend(_pair(pair))
    body.append("</main>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"{MARK}<title>{_e(title)}</title><style>{_STYLE}</style>"
            f"<script>{_SCRIPT}</script></head><body>" + "\n".join(body) + "</body></html>\n")


def write(report: Report, path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    atomic_write(path, lambda f: f.write(to_html(report)))


def names_in(cases: Sequence[CaseResult]) -> Optional[str]:
    """The anchor of the first failing case (for a job summary's link), if any."""
    bad = next((c for c in cases if c.verdict in ("failed", "error")), None)
    return anchor("case", bad.id) if bad else None
