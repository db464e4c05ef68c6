"""Results as data: a case's hint, audit, explanation and localization are fields that survive the
JUnit report, and the diagnosis groups failures by them, whatever their words. No TensorFlow."""
from __future__ import annotations

import io
from dataclasses import fields

import numpy as np

from tf_equiv.report import github, junit, terminal
from tf_equiv.report.merge import merge
from tf_equiv.results import (
    CaseResult,
    PairResult,
    Report,
    appended,
    compose,
    diagnosis,
    explanation_words,
    own_words,
)
from tf_equiv.run.protocol import PairSettings
from tf_equiv.run.records import SideCheck, save_arrays
from tf_equiv.run.sides import SideRun
from tf_equiv.verdict import randomness
from tf_equiv.verdict.judge import judge

MODULE = "models/equiv_net.py"
AUDIT = "TF1 1 (RandomUniform x1 at dropout); TF2 1 (RandomUniform x1 at dropout)"


def _explained(check: str, finding: str, hint: str, **kw: str) -> CaseResult:
    statement = "first divergence in forward order: outputs/b"
    explanation = explanation_words(finding, hint)
    message = f"{check}: {compose(statement, audit=kw.get('audit', ''))}. {explanation}"
    added = "explanation (1.0 s):\n  with oneDNN off: passes"
    return CaseResult(MODULE, "net", check, "failed", message, line=7, statement=statement,
                      explanation=explanation, finding=finding, next_step=hint,
                      explanation_detail=added, detail=f"record  shape\n\n{added}",
                      place="b2/Relu (Relu); block b2 is wrong", block="b2", **kw)


def _report() -> Report:
    finding = "passes with oneDNN off: oneDNN kernel numerics, not a migration bug"
    hint = "run the check with TF_ENABLE_ONEDNN_OPTS=0 or set a tolerance of rtol=2e-05"
    statement = "2 variables only in TF1: a, b (count TF1 4, TF2 2)"
    cases = (
        _explained("constant_inference", finding, hint),
        _explained("random_training[constant]", finding, hint, audit=AUDIT),
        CaseResult(MODULE, "net", "variables_match", "failed",
                   f"variables_match: {compose(statement, hint='pass name_map=...')}", line=7,
                   statement=statement, hint="pass name_map=..."),
        CaseResult(MODULE, "net", "gradients", "passed", "gradients: 3 records match; margin 9x",
                   statement="3 records match", margin=9.0),
    )
    return Report((PairResult(MODULE, "net", cases, environment={"python": "3.11"}),), 2.0)


def _shown(report: Report) -> tuple[str, str, list[str]]:
    stream = io.StringIO()
    terminal.final(report, stream)
    return stream.getvalue(), github.summary(report), github.annotations(report)


def test_the_fields_survive_the_junit_report_and_merge_shows_what_the_run_showed(tmp_path):
    report = _report()
    path = str(tmp_path / "r.xml")
    junit.write(report, path)
    merged = merge([path])
    kept = ("message", "verdict", "statement", "hint", "audit", "explanation", "finding",
            "next_step", "explanation_detail", "place", "block", "margin", "cause", "detail")
    assert {f.name for f in fields(CaseResult)} >= set(kept)
    for before, after in zip(report.cases, merged.cases, strict=True):
        assert {k: getattr(after, k) for k in kept} == {k: getattr(before, k) for k in kept}
    run, merged_view = _shown(report), _shown(merged)
    assert merged_view[0].split("\n=")[:-1] == run[0].split("\n=")[:-1]   # all but the total
    assert merged_view[2] == run[2]
    # The diagnosis reads the fields: the hint is the next step, the audit is evidence, and
    # the second check of the cause is shown without what the diagnosis already said.
    text = run[0]
    assert "    next: run the check with TF_ENABLE_ONEDNN_OPTS=0" in text
    assert f"evidence: randomness audit (random_training[constant]): {AUDIT}" in text
    assert ("FAILED: random_training[constant]: first divergence in forward order: outputs/b "
            "(diagnosis above)\n    record  shape\n") in text
    assert "next: pass name_map=..." in text


def test_an_older_report_without_the_fields_still_reads(tmp_path):
    path = str(tmp_path / "r.xml")
    junit.write(_report(), path)
    xml = open(path, encoding="utf-8").read()
    for name in ("statement", "hint", "audit", "finding", "next_step", "explanation_detail"):
        xml = "\n".join(line for line in xml.splitlines() if f'name="{name}.' not in line)
    open(path, "w", encoding="utf-8").write(xml)
    merged = merge([path])
    assert [c.hint for c in merged.cases] == ["", "", "", ""]
    assert [c.verdict for c in merged.cases] == [c.verdict for c in _report().cases]
    assert len(diagnosis(merged.pairs[0])) == 2


def _initializer_runs(tmp_path, drift: float) -> dict[str, SideRun]:
    plan = [["random_inference[constant]", None], ["random_training[constant]", None]]
    settings = PairSettings({"rtol": 1e-6, "atol": 1e-5, "tolerances": {}, "line": 7,
                             "checks": plan})
    rng = np.random.default_rng(0)
    runs = {}
    for side, scale in (("tf1", 1.0), ("tf2", drift)):
        kernel = rng.normal(0.0, scale, (64, 32))
        events = [settings]
        for check, _ in plan:
            path = save_arrays(str(tmp_path / f"{side}-{check}.npz"),
                               {"initial/dense/kernel": kernel, "outputs": kernel.sum(0)})
            events.append(SideCheck(side, check, "ok", file=path,
                                    order=("initial/dense/kernel", "outputs")))
        runs[side] = SideRun(side, events=[(float(i), e) for i, e in enumerate(events)])
    return runs


def _causes(tmp_path, monkeypatch, wording: str) -> list[tuple[str, str]]:
    monkeypatch.setattr(randomness, "CHANGED_HINT", wording)
    plan = [("random_inference[constant]", None), ("random_training[constant]", None)]
    result = judge(MODULE, "net", 7, plan, _initializer_runs(tmp_path, 3.0))
    assert all(c.cause == "initializer" for c in result.cases)
    return [(cause.checks, cause.next_step) for cause in diagnosis(result)]


def test_rewording_a_hint_leaves_the_causes_as_they_were(tmp_path, monkeypatch):
    """A hint whose words hold the markers a message uses (". ", "Hint: ", "Random ops: ",
    "Explanation: ") groups the checks as the plain one does, and is the next step whole."""
    plain = _causes(tmp_path, monkeypatch, randomness.CHANGED_HINT)
    odd = ("Explanation: none. Random ops: none. Hint: the moments differ ({m1:.3g}, {s1:.3g}, "
           "{m2:.3g}, {s2:.3g}). Localization: nowhere")
    reworded = _causes(tmp_path, monkeypatch, odd)
    assert [checks for checks, _ in reworded] == [checks for checks, _ in plain] == [
        "random_inference[constant], random_training[constant]"]
    assert reworded[0][1].startswith("Explanation: none. Random ops: none. Hint: the moments")
    assert reworded[0][1].endswith("Localization: nowhere")


def test_rewording_an_explanations_hint_leaves_the_causes_as_they_were():
    def causes(hint: str) -> list[tuple[str, str]]:
        cases = (_explained("constant_inference", "passes with oneDNN off", hint),
                 _explained("transferred_inference", "passes with oneDNN off", hint),
                 _explained("tf_function", "still fails with oneDNN off", ""))
        return [(c.checks, c.next_step) for c in diagnosis(PairResult(MODULE, "net", cases))]

    plain, odd = causes("set rtol=2e-05"), causes("set rtol. Hint: Explanation: . Localization")
    assert [c for c, _ in plain] == [c for c, _ in odd] == [
        "constant_inference, transferred_inference", "tf_function"]
    assert odd[0][1] == "set rtol. Hint: Explanation: . Localization"
    assert plain[1][1] == odd[1][1] == "fix block b2 of the migrated code"


def test_a_case_keeps_its_words_apart_from_its_check_id():
    """Reporters group the checks of a crashed side by `words`, never by cutting the message."""
    case = CaseResult("equiv_x.py", "p", "gradients", "error", "gradients: TF2 side crashed",
                      words="TF2 side crashed")
    said = appended(case, "; and more")
    assert (said.message, said.words) == ("gradients: TF2 side crashed; and more",
                                          "TF2 side crashed; and more")
    assert own_words(said) == "TF2 side crashed; and more"
    skipped = CaseResult("equiv_x.py", "p", "gradients", "skipped", "not a Keras layer")
    assert own_words(appended(skipped, ".")) == "not a Keras layer."
