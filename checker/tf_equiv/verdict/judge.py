"""Both sides' events -> one verdict per check of a pair (the parent's comparisons happen here)."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from tf_equiv import checks
from tf_equiv.errors import RecordsError
from tf_equiv.pair import tolerance_for
from tf_equiv.results import MODULE_CASE, CaseResult, PairResult, apply_marks
from tf_equiv.run.protocol import Environment, Event, Fatal, PairSettings, Transfer
from tf_equiv.run.records import SideCheck
from tf_equiv.run.sides import SideRun
from tf_equiv.verdict.compare import Outcome, compare_records
from tf_equiv.verdict.variables import created_once, variables_match

#: Where the TF1 side keeps the records a TF2-only regime is compared with.

UNALIGNED_HINT = (
    "Hint: same distribution (TF1 mean {m1:.3g} std {s1:.3g}, TF2 mean {m2:.3g} std {s2:.3g}), "
    "different draws: this variable's initializer likely draws random numbers that "
    "DeterministicRandomTestTool cannot align between the sides (tf.compat.v1.layers.dense's "
    "default kernel initializer is one; an explicit tf.compat.v1.glorot_uniform_initializer() "
    "aligns). transferred_inference, which copies the TF1 values into the TF2 model, is the check "
    "that still applies")
CHANGED_HINT = ("Hint: the distributions differ (TF1 mean {m1:.3g} std {s1:.3g}, TF2 mean {m2:.3g} "
                "std {s2:.3g}): the migrated code likely initializes this variable differently")
SHIFTED_HINT = (
    "Hint: same distribution (TF1 mean {m1:.3g} std {s1:.3g}, TF2 mean {m2:.3g} std {s2:.3g}), "
    "different draws: the shifted op seeds explain them. Make both sides create the same random "
    "ops in the same order; transferred_inference, which copies the TF1 values into the TF2 model, "
    "still applies")
SEEDED_ORDER_HINT = (
    "Hint: make both sides create the same random ops in the same order (a draw added, left over "
    "or removed; a TF1 tf.cond creates the random ops of both branches, eager TF2 runs one)")
UNSEEDED_HINT = (
    "Hint: where TF1 draws with a stateful op, draw with one too (tf.random.uniform, "
    "tf.random.normal, tf.nn.dropout, a tf.compat.v1 initializer such as "
    "tf.compat.v1.glorot_uniform_initializer()), at least while validating")


def initializer_hint(tf1: np.ndarray, tf2: np.ndarray, shifted: bool = False) -> str:
    """Tell a changed initializer from unaligned draws of the same one, by their first moments;
    `shifted`: the randomness audit found the op seeds shifted between the sides."""
    m1, s1, m2, s2 = (float(f(x)) for x in (tf1, tf2) for f in (np.mean, np.std))
    template = (SHIFTED_HINT if shifted else UNALIGNED_HINT) if same_distribution(tf1, tf2) \
        else CHANGED_HINT
    return template.format(m1=m1, s1=s1, m2=m2, s2=s2)


def same_distribution(tf1: np.ndarray, tf2: np.ndarray) -> bool:
    """Whether two draws look like one distribution by their first two moments: each moment's
    difference within six standard errors of that difference, estimated from the samples (the
    standard deviation's from their kurtosis, so uniform and normal draws are judged alike).

    Six standard errors: two draws of one initializer are told apart about once in 5e8, so a
    correct migration is never called a changed initializer by chance (four standard errors of
    each moment alone did so for about one variable in 200), while a changed initializer moves
    a moment by many more."""
    a, b = (np.asarray(x, np.float64).ravel() for x in (tf1, tf2))
    if not a.size or not b.size:
        return a.size == b.size
    m1, s1, m2, s2 = float(a.mean()), float(a.std()), float(b.mean()), float(b.std())
    if not s1 or not s2:
        return s1 == s2 and m1 == m2
    kurtosis = [float(np.mean(((x - m) / s) ** 4)) for x, m, s in ((a, m1, s1), (b, m2, s2))]
    se_mean = np.sqrt(s1 ** 2 / a.size + s2 ** 2 / b.size)
    se_std = np.sqrt((kurtosis[0] - 1) * s1 ** 2 / (4 * a.size)
                     + (kurtosis[1] - 1) * s2 ** 2 / (4 * b.size))
    return bool(abs(m1 - m2) <= 6 * se_mean and abs(s1 - s2) <= 6 * se_std)


def unalignable(check: str, records: Sequence, tf1: dict, tf2: dict, arrays1: dict,
                arrays2: dict) -> Optional[str]:
    """Why a random_* check cannot apply, or None: every initial value that differs is drawn, on
    one side at least, by an op DeterministicRandomTestTool cannot seed (a stateless initializer
    such as tf_keras's default GlorotUniform, which tf.compat.v1.layers uses too), with the same
    distribution on both sides. The draws then cannot agree however right the migration is."""
    differing = [r.name[len("initial/"):] for r in records if not r and r.name.startswith("initial/")]
    audits = [meta.get("random_ops", {}).get("draws", []) for meta in (tf1, tf2)]
    if not differing or not all(audits):
        return None
    sources = []
    for variable in differing:
        own = (variable, tf2.get("tf2_names", {}).get(variable, variable))
        found = [next((d for d in audit if _draws(d, name)), None)
                 for audit, name in zip(audits, own)]
        draws = [d for d in found if d is not None]
        key = f"initial/{variable}"
        if len(draws) < len(found) or all(d["seeded"] for d in draws) \
                or not _same_initializer(draws, arrays1[key], arrays2[key]):
            return None
        sources += [_draw(d) for d in draws if not d["seeded"]]
    return (f"{check}: not applicable: {len(differing)} initial values ({_names_of(differing)}) "
            "are drawn by ops DeterministicRandomTestTool cannot seed, with the same "
            f"distribution on both sides (first: {sources[0]}), so no two runs can agree on "
            "them. transferred_inference, gradients and tf_function compare this model at TF1's "
            "own values. Hint: to compare the random regimes too (dropout masks), give both "
            "sides a stateful initializer while validating, e.g. "
            "tf.compat.v1.glorot_uniform_initializer()")


def _same_initializer(draws: list, tf1: np.ndarray, tf2: np.ndarray) -> bool:
    """Both draws by the same kind of op of one shape, from the same initializer where the audit
    names it, and alike in distribution where there are enough numbers to tell (a 3x2 kernel's
    six numbers are too few for its moments to say anything)."""
    a, b = draws
    if a["type"] != b["type"] or not _shapes_agree(a["shape"], b["shape"]):
        return False
    if a.get("source") and b.get("source") and a["source"] != b["source"]:
        return False
    return tf1.size < 30 or same_distribution(tf1, tf2)


def _names_of(names: Sequence[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f", +{len(names) - limit} more" if len(names) > limit
                                       else "")


def random_ops_note(check: str, tf1: dict, tf2: dict, variable: str) -> tuple[str, bool]:
    """(text, shifted) from the sides' randomness audits (their checks' `random_ops` metadata):
    each side's random ops, those DeterministicRandomTestTool cannot align, and where the sides'
    draws stop lining up. `variable`: the first diverging initial value, if any (initializer_hint
    then follows, and `shifted` says whether a moved op seed, not an unaligned op, drew it)."""
    audits = {side: meta["random_ops"] for side, meta in (("TF1", tf1), ("TF2", tf2))
              if meta.get("random_ops")}
    if not audits:
        return "", False
    parts = ["Random ops: " + "; ".join(f"{side} {_ops_summary(a)}" for side, a in audits.items())]
    unseeded = [f"{side} {_draw(d)}" for side, a in audits.items() for d in a["draws"]
                if not d["seeded"]]
    more = sum(a["unseeded"] for a in audits.values()) - 3
    parts += ["Not aligned by DeterministicRandomTestTool, which seeds only the stateful ops that "
              "ask tf.random for a seed: " + ", ".join(unseeded[:3])
              + (f", +{more} more" if more > 0 else "")] if unseeded else []
    if len(audits) < 2:
        return ". ".join(parts), False
    seq1, seq2 = audits["TF1"]["draws"], audits["TF2"]["draws"]
    mode = check[check.find("[") + 1:-1]
    order = _order_notes(mode, seq1, seq2, audits["TF1"]["count"], audits["TF2"]["count"])
    i1 = next((i for i, d in enumerate(seq1) if _draws(d, variable)), None)
    # The TF2 audit names ops by the TF2 scopes: look the variable up by its own TF2 name.
    own = tf2.get("tf2_names", {}).get(variable, variable)
    i2 = next((i for i, d in enumerate(seq2) if _draws(d, own)), i1)
    shifted = False
    if mode == "num_random_ops" and i1 is not None and i2 is not None and i2 < len(seq2):
        shifted = bool(seq1[i1]["seeded"] and seq2[i2]["seeded"]
                       and _seed(seq1, i1) != _seed(seq2, i2))
        if shifted and not order and i1 != i2:
            # Same ops, same shapes, another order: each draw gets the other's seed.
            order = [f"The sides create their random ops in another order: {variable} is drawn "
                     f"at draw {i1 + 1} on TF1 and at draw {i2 + 1} on TF2"]
    parts += order or ([] if unseeded else [
        "Every one is seeded by DeterministicRandomTestTool and they line up between the sides, "
        "so the random numbers themselves should agree"])
    if not variable and (unseeded or order):
        parts.append(UNSEEDED_HINT if unseeded else SEEDED_ORDER_HINT)
    return ". ".join(parts), shifted


def _order_notes(mode: str, seq1: list, seq2: list, n1: int, n2: int) -> list[str]:
    """Where the sides' draws stop lining up: another op at a draw, a draw one side lacks (by
    shape), and (num_random_ops) the op seeds a draw the tool does not seed leaves shifted."""
    at = next((i for i, (a, b) in enumerate(zip(seq1, seq2))
               if not _shapes_agree(a["shape"], b["shape"])), min(len(seq1), len(seq2)))
    both = [i for i in range(at) if seq1[i]["seeded"] and seq2[i]["seeded"]]
    notes = [f"Draw {i + 1} is another op: TF1 {_draw(seq1[i])}, TF2 {_draw(seq2[i])}"
             for i in both if seq1[i]["type"] != seq2[i]["type"]][:1]
    if n1 != n2 or not at == len(seq1) == len(seq2):
        more = f"{'TF2' if n2 > n1 else 'TF1'} creates {abs(n2 - n1)} more random " \
            f"op{'s' if abs(n2 - n1) > 1 else ''}; the" if n1 != n2 else "The"
        notes.append(
            f"{more} sides' random ops part ways at draw {at + 1}: TF1 "
            f"{_draw(seq1[at] if at < len(seq1) else None)}, TF2 "
            f"{_draw(seq2[at] if at < len(seq2) else None)}: " + (
                "in num_random_ops mode an op's seed is its position among the ops the tool "
                "seeds, so the later draws may get other seeds" if mode == "num_random_ops" else
                "constant mode seeds every op alike, so the later draws still align"))
    moved = next((i for i in both if _seed(seq1, i) != _seed(seq2, i)), None)
    if mode == "num_random_ops" and moved is not None:
        notes.append(f"In num_random_ops mode draw {moved + 1} ({_draw(seq1[moved])}) gets op "
                     f"seed {_seed(seq1, moved)} on TF1 but {_seed(seq2, moved)} on TF2, and so "
                     "do the later draws: an op the tool does not seed takes no op seed")
    return notes


def _seed(draws: list, i: int) -> int:
    """The op seed num_random_ops mode gives draw `i`: how many seeded draws came before it."""
    return sum(d["seeded"] for d in draws[:i])


def _draws(d: dict, variable: str) -> bool:
    """Whether draw `d` initializes `variable` (its op sits under the variable's name)."""
    return bool(variable) and (d["name"] == variable or d["name"].startswith(variable + "/"))


def _ops_summary(audit: dict) -> str:
    """`3 (RandomUniform x2 at a, b; StatelessRandomUniformV2 x1 at c)`, names capped."""
    by_type: dict[str, list[str]] = {}
    for d in audit["draws"]:
        by_type.setdefault(d["type"], []).append(d["name"] or "(no name scope)")
    groups = [f"{t} x{len(names)} at " + ", ".join(names[:2])
              + (f", +{len(names) - 2} more" if len(names) > 2 else "")
              for t, names in list(by_type.items())[:4]]
    groups += [f"+{len(by_type) - 4} more types"] if len(by_type) > 4 else []
    groups += [f"audit stopped: {audit['broken']}"] if audit.get("broken") else []
    return f"{audit['count']} ({'; '.join(groups)})" if groups else "none"


def _draw(d: Optional[dict]) -> str:
    if d is None:
        return "none"
    shape = d["shape"]
    dims = "" if shape is None else " (" + ", ".join("?" if n is None else str(n) for n in shape) \
        + ("," if len(shape) == 1 else "") + ")"
    return f"{d['type']}{dims} at {d['name'] or '(no name scope)'}" \
        + (f" from {d['source']}" if d["source"] else "") + (f" ({d['site']})" if d["site"] else "")


def _shapes_agree(a: Optional[list], b: Optional[list]) -> bool:
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def module_error(module: str, message: str, line: int, detail: str = "") -> PairResult:
    case = CaseResult(module, MODULE_CASE, MODULE_CASE, "error", message, detail=detail,
                      file=module, line=line)
    return PairResult(module, MODULE_CASE, (case,))


def settings_of(runs: Mapping[str, SideRun]) -> Optional[dict[str, Any]]:
    for side in ("tf1", "tf2"):
        event = runs[side].find(PairSettings) if side in runs else None
        if event:
            return event.settings
    return None


class EarlyComparisons:
    """Compares each check as soon as both sides have sent it, while the workers go on: the
    comparisons then cost no wall time when a side finishes before the other."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings: Optional[dict[str, Any]] = None
        self._found: dict[str, dict[str, SideCheck]] = {"tf1": {}, "tf2": {}}
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._futures: dict[str, Future[Outcome]] = {}

    def on_event(self, side: str, event: Event) -> None:
        """Called by the runner's reader threads with every event of every side."""
        with self._lock:
            if isinstance(event, PairSettings) and self._settings is None:
                self._settings = event.settings
            if not isinstance(event, SideCheck) or event.status != "ok" or not self._settings:
                return
            self._found[side][event.check] = event
            for check in (event.check, *[s.id for s in checks.TABLE
                                         if s.tf1_record == event.check]):
                found = {"tf2": self._found["tf2"].get(check)}
                if not checks.tf2_only(check):
                    found["tf1"] = self._found["tf1"].get(checks.tf1_source(check))
                arrived = {side: e for side, e in found.items() if e is not None}
                if len(arrived) == len(found) and check not in self._futures:
                    self._futures[check] = self._pool.submit(_compare, check, arrived,
                                                             self._settings)

    def results(self) -> dict[str, Outcome]:
        """{check: Outcome} of the comparisons that completed (one that raised is redone later)."""
        self._pool.shutdown(wait=True)
        return {c: f.result() for c, f in self._futures.items() if f.exception() is None}


def judge(module: str, pair: str, line: int, planned: Sequence[tuple[str, Optional[str]]],
          runs: Mapping[str, SideRun], early: Optional[Mapping[str, Outcome]] = None,
          own_plan: bool = True) -> PairResult:
    """The pair's cases: the worker's own plan when it reported one (else the static plan).

    `early` holds comparisons already made (EarlyComparisons.results()); with `own_plan` False,
    exactly the planned checks are judged (an explanation's, say).
    """
    settings = settings_of(runs) or {}
    # The worker knows the pair's own `checks` (not always visible in the source): keep the
    # planned checks it confirms, with its skip reasons.
    wanted = {c for c, _ in planned}
    plan = [tuple(c) for c in settings["checks"] if c[0] in wanted] \
        if settings.get("checks") and own_plan else list(planned)
    line = int(settings.get("line") or line)
    env = _environment(runs)

    # case(check, verdict, message, ...): a CaseResult of this pair, at the Pair unless told.
    case = partial(CaseResult, module, pair, file=module, line=line)

    fatal = next((f for r in runs.values() if (f := r.find(Fatal))), None)
    cases = []
    for check, skip_reason in plan:
        if fatal:
            result = case(check, "error", fatal.message, detail=fatal.detail)
        elif settings.get("problems"):
            result = case(check, "error", f"bad Pair {pair!r}: " + "; ".join(settings["problems"]))
        elif settings.get("skip") or skip_reason:
            result = case(check, "skipped", settings.get("skip") or skip_reason)
        else:
            result = _judge_check(check, runs, settings, case, (early or {}).get(check))
        cases.append(apply_marks(result, settings.get("xfail")))
    return PairResult(module, pair, tuple(cases), 0.0, env["environment"], env["compat_fixes"],
                      {"rtol": settings.get("rtol"), "atol": settings.get("atol"),
                       **settings.get("tolerances", {})}, line)


def _environment(runs: Mapping[str, SideRun]) -> dict[str, Any]:
    """The TF2 side's environment, plus `tf1_<key>` wherever the TF1 side's differs (stored
    records from another TensorFlow version, say)."""
    found = {side: run.find(Environment) or Environment() for side, run in runs.items()}
    main = found.get("tf2") or found.get("tf1") or Environment()
    env = dict(main.environment)
    tf1 = found["tf1"].environment if "tf1" in found else {}
    env.update({f"tf1_{k}": v for k, v in tf1.items() if env.get(k) != v})
    fixes = tuple(dict.fromkeys(f for e in found.values() for f in e.compat_fixes))
    return {"environment": env, "compat_fixes": fixes}


def _side_check(run: SideRun, check: str) -> tuple[Optional[SideCheck], float]:
    """(SideCheck or None, seconds it took on that side)."""
    previous = 0.0
    for at, event in run.events:
        if isinstance(event, SideCheck) and event.check == check:
            return event, at - previous
        if isinstance(event, (SideCheck, PairSettings, Transfer)):
            previous = at
    return None, 0.0


def _judge_check(check: str, runs: Mapping[str, SideRun], settings: dict[str, Any],
                 case: Callable[..., CaseResult], early: Optional[Outcome] = None) -> CaseResult:
    sides = checks.spec(check).sides
    found: dict[str, SideCheck] = {}
    seconds = 0.0
    for side in sides:
        name = checks.tf1_source(check) if side == "tf1" else check
        result, took = _side_check(runs[side], name)
        seconds = max(seconds, took)
        if result is None:
            run = runs[side]
            verdict_msg = run.how_it_ended()
            if run.finished:
                verdict_msg = f"{side.upper()} side finished without a result for {check}"
            if run.protocol_errors:
                verdict_msg += (f"; its worker sent {len(run.protocol_errors)} lines that are no "
                                f"event of this version (first: {run.protocol_errors[0]})")
            tail = run.log_tail()
            detail = (f"last {len(tail.splitlines())} lines of its output:\n{tail}" if tail
                      else "it printed nothing")
            return case(check, "error", f"{check}: {verdict_msg}", detail=detail, duration=seconds)
        if result.status == "error":
            return case(check, "error", f"{check}: {side.upper()} side: {result.message}",
                        detail=result.detail, duration=seconds)
        if result.status == "skipped":
            return case(check, "skipped", result.message, duration=seconds)
        found[side] = result
    try:
        outcome = early or _compare(check, found, settings)
    except RecordsError as e:
        return case(check, "error", f"{check}: {e}", duration=seconds)
    judged = case(check, outcome.verdict, outcome.message, detail=outcome.detail,
                  duration=seconds, warnings=outcome.warnings, records=outcome.records,
                  cause=outcome.cause)
    # An outcome that points at a user-code line (a variable's creator) is located there.
    return replace(judged, file=outcome.file, line=outcome.line) if outcome.line else judged


def _compare(check: str, found: Mapping[str, SideCheck], settings: dict[str, Any]) -> Outcome:
    tf2 = found["tf2"]
    if check == "variables_created_once":
        return created_once(tf2.meta.get("new_variables", []))
    tf1 = found["tf1"]
    if check == "variables_match":
        return variables_match(tf1.meta["variables"], tf2.meta["variables"])
    rtol, atol = settings.get("rtol", 1e-6), settings.get("atol", 1e-5)
    tolerances = settings.get("tolerances", {})
    arrays1, arrays2 = tf1.arrays(), tf2.arrays()
    unpaired = _unpaired_slots(arrays1, arrays2) if check == "optimizer_steps" else []
    for name in unpaired:
        arrays1.pop(name, None)
        arrays2.pop(name, None)
    outcome = compare_records(check, arrays1, arrays2,
                              lambda name: tolerance_for(name, tolerances, rtol, atol),
                              order=tf1.order,
                              dtypes=(tf1.meta.get("dtypes", {}), tf2.meta.get("dtypes", {})))
    outcome = _vacuous(check, outcome, arrays1, arrays2)
    if unpaired:
        kinds = sorted({n.rsplit("/", 1)[1] for n in unpaired})
        outcome = replace(outcome, warnings=outcome.warnings + (
            f"optimizer slots without a counterpart of the same kind were not compared "
            f"({', '.join(kinds)}): the two optimizers keep different quantities; the variables "
            "after each step are compared",))
    if check == "tf_function" and tf2.meta.get("eager_file"):
        outcome = _with_eager(outcome, arrays2, tf2.meta["eager_file"], tolerances, rtol, atol)
    if check == "gradients":
        outcome = _no_gradient(outcome, tf1.meta.get("no_gradient", []), tf2.meta.get("no_gradient", []))
    first = next((r for r in outcome.records if not r), None)
    # The first failing record, when it is an initial value (the initializer may explain it).
    # Compared with None, never by truth: a failing RecordComparison is false.
    initial = first if first is not None and first.name.startswith("initial/") \
        and not first.problem else None
    spec = checks.spec(check)
    why_not = unalignable(check, outcome.records, tf1.meta, tf2.meta, arrays1, arrays2) \
        if initial is not None and spec.regime and not outcome.cause else None
    if why_not:
        return Outcome("skipped", why_not, records=outcome.records, warnings=outcome.warnings)
    variable = initial.name[len("initial/"):] if initial is not None else ""
    note, shifted = random_ops_note(check, tf1.meta, tf2.meta, variable) \
        if spec.regime and spec.tf1 and not outcome else ("", False)
    if note:
        outcome = replace(outcome, message=f"{outcome.message}. {note}")
    if initial is not None:
        hint = initializer_hint(arrays1[initial.name], arrays2[initial.name], shifted)
        outcome = replace(outcome, message=f"{outcome.message}. {hint}", cause="initializer")
    return outcome


def _vacuous(check: str, outcome: Outcome, tf1: Mapping[str, np.ndarray],
             tf2: Mapping[str, np.ndarray]) -> Outcome:
    """A check that compared nothing of substance fails as vacuous, like one of NaNs: the outputs
    of a forward check, the gradients, the variables after optimizer steps."""
    if not outcome:
        return outcome
    prefix, what, why = checks.spec(check).substance or checks.OUTPUTS
    compared = [n for n in tf1 if n in tf2 and n.startswith(prefix) and not n.endswith("/loss")]
    if compared:
        return outcome
    return replace(outcome, verdict="failed", cause="vacuous",
                   message=f"{check}: vacuous: compared no {what}, so nothing was proven. "
                           f"Hint: {why}")


def _unpaired_slots(tf1: Mapping[str, np.ndarray], tf2: Mapping[str, np.ndarray]) -> list[str]:
    """Slot records (`<variable>/<kind>`) of one side whose variable both sides have."""
    one_sided = [n for n in tf1 if n not in tf2] + [n for n in tf2 if n not in tf1]
    return [n for n in one_sided if n.rsplit("/", 1)[0] in tf1 and n.rsplit("/", 1)[0] in tf2]


def _with_eager(outcome: Outcome, traced: dict, eager_file: str, tolerances: dict, rtol: float,
                atol: float) -> Outcome:
    """Say whether the eager TF2 model agrees with its tf.function trace, to place the blame."""
    eager = SideCheck("tf2", "tf_function-eager", "ok", file=eager_file).arrays()
    inner = compare_records("eager vs tf.function", eager, traced,
                            lambda name: tolerance_for(name, tolerances, rtol, atol))
    if inner:
        note = "the eager TF2 model and its tf.function trace agree"
    else:
        note = ("the eager TF2 model and its tf.function trace differ too: "
                + inner.message.split(": ", 1)[-1])
    if outcome:
        return replace(outcome, detail=note)
    return replace(outcome, message=f"{outcome.message}; {note}",
                   detail=f"{outcome.detail}\n{note}".strip())


def _no_gradient(outcome: Outcome, tf1: list, tf2: list) -> Outcome:
    only1 = sorted(set(tf1) - set(tf2))
    only2 = sorted(set(tf2) - set(tf1))
    if not (only1 or only2):
        return outcome
    parts = [f"no gradient on TF1 only: {', '.join(only1[:5])}"] if only1 else []
    parts += [f"no gradient on TF2 only: {', '.join(only2[:5])}"] if only2 else []
    message = "gradients: " + "; ".join(parts)
    if not outcome:
        message += "; " + outcome.message.split(": ", 1)[-1]
    return Outcome("failed", message, outcome.detail, outcome.records, outcome.warnings,
                   cause="structure")
