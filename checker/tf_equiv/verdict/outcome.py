"""One check's outcome from both sides' records: which comparison, which tolerances, and what
it must have compared to prove anything. No TensorFlow here."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterator, Mapping, Union

import numpy as np

from tf_equiv import checks
from tf_equiv.pair import tolerance_for
from tf_equiv.protocol.settings import JSON, PairSettings
from tf_equiv.results import AUDIT, HINT, compose
from tf_equiv.run.records import SideCheck
from tf_equiv.verdict.compare import Outcome, compare_records
from tf_equiv.verdict.metrics import metrics_hint
from tf_equiv.verdict.optimizers import optimizer_hint
from tf_equiv.verdict.randomness import initializer_hint, random_ops, unalignable
from tf_equiv.verdict.training import compare_training
from tf_equiv.verdict.variables import created_once, variables_match


def compare_check(check: str, found: Mapping[str, SideCheck],
                  settings: Union[PairSettings, JSON]) -> Outcome:
    """The check's comparison of the two sides' records (only TF2's for a TF2-only check), the
    one its table row names."""
    return _COMPARISONS[checks.spec(check).compare](check, found, PairSettings.of(settings))


def _created_once(check: str, found: Mapping[str, SideCheck], settings: PairSettings) -> Outcome:
    return created_once(found["tf2"].meta.get("new_variables", []))


def _variables(check: str, found: Mapping[str, SideCheck], settings: PairSettings) -> Outcome:
    return variables_match(found["tf1"].meta["variables"], found["tf2"].meta["variables"])


def _training(check: str, found: Mapping[str, SideCheck], settings: PairSettings) -> Outcome:
    outcome = compare_training(found["tf1"], found["tf2"], settings)
    return _optimizers_told(check, outcome, found["tf1"], found["tf2"])


def _records(check: str, found: Mapping[str, SideCheck], settings: PairSettings) -> Outcome:
    tf1, tf2 = found["tf1"], found["tf2"]
    # Read a record at a time: a regime of inception_v3 holds 95 MB of initial values a side.
    with tf1.records() as records1, tf2.records() as records2:
        return _compare_arrays(check, tf1, tf2, records1, records2, settings)


_COMPARISONS: dict[checks.Comparison, Callable[[str, Mapping[str, SideCheck], PairSettings],
                                               Outcome]] = {
    "created_once": _created_once, "variables": _variables, "training": _training,
    "records": _records, "slots": _records}


def _compare_arrays(check: str, tf1: SideCheck, tf2: SideCheck, records1: Mapping[str, np.ndarray],
                    records2: Mapping[str, np.ndarray], settings: PairSettings) -> Outcome:
    rtol, atol, tolerances = settings.rtol, settings.atol, settings.tolerances
    unpaired = _unpaired_slots(records1, records2) \
        if checks.spec(check).compare == "slots" else []
    arrays1, arrays2 = _Omitting(records1, unpaired), _Omitting(records2, unpaired)
    outcome = compare_records(check, arrays1, arrays2,
                              lambda name: tolerance_for(name, tolerances, rtol, atol),
                              order=tf1.order,
                              dtypes=(tf1.meta.get("dtypes", {}), tf2.meta.get("dtypes", {})))
    outcome = _vacuous(check, outcome, arrays1, arrays2)
    outcome = _optimizers_told(check, outcome, tf1, tf2)
    if not outcome and outcome.cause != "vacuous" and "metrics" in tf2.meta:
        hint = metrics_hint(outcome.records, tf2.meta["metrics"])
        outcome = _told(check, outcome, hint=hint) if hint else outcome
    if unpaired:
        kinds = sorted({n.rsplit("/", 1)[1] for n in unpaired})
        outcome = replace(outcome, warnings=outcome.warnings + (
            f"optimizer slots without a counterpart of the same kind were not compared "
            f"({', '.join(kinds)}): the two optimizers keep different quantities; the variables "
            "after each step are compared",))
    if tf2.meta.get("eager_file"):     # the TF2 side ran in tf.function and eagerly
        outcome = _with_eager(outcome, arrays2, tf2.meta["eager_file"], tolerances, rtol, atol)
    if "no_gradient" in tf1.meta or "no_gradient" in tf2.meta:
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
    found = random_ops(check, tf1.meta, tf2.meta, variable) \
        if spec.regime and spec.tf1 and not outcome else None
    if found is not None:
        outcome = _told(check, outcome, audit=found.audit, hint=found.hint)
    if initial is not None:
        hint = initializer_hint(arrays1[initial.name], arrays2[initial.name], found is not None
                                and found.shifted)
        outcome = replace(_told(check, outcome, hint=hint), cause="initializer")
    return outcome


def _optimizers_told(check: str, outcome: Outcome, tf1: SideCheck, tf2: SideCheck) -> Outcome:
    """A failure of the optimizer steps or the training run with the differences between the
    optimizers that took them as its hint, from the facts each side sent with the check."""
    if outcome.verdict != "failed" or outcome.cause == "vacuous" or "optimizer" not in tf1.meta:
        return outcome
    hint = optimizer_hint(tf1.meta["optimizer"], tf2.meta.get("optimizer"))
    return _told(check, outcome, hint=hint) if hint else outcome


def _told(check: str, outcome: Outcome, audit: str = "", hint: str = "") -> Outcome:
    """The outcome with the randomness audit and a hint said after its message, and kept as its
    fields."""
    more = "".join(([". " + AUDIT + audit] if audit else []) + ([". " + HINT + hint] if hint else []))
    return replace(outcome, message=outcome.message + more, words=outcome.words + more,
                   statement=outcome.statement or outcome.words or outcome.message,
                   audit="; ".join(filter(None, (outcome.audit, audit))),
                   hint="; ".join(filter(None, (outcome.hint, hint))))


class _Omitting(Mapping[str, np.ndarray]):
    """`records` without the names in `omitted`."""

    def __init__(self, records: Mapping[str, np.ndarray], omitted: list[str]) -> None:
        self.records, self.omitted = records, frozenset(omitted)

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.omitted:
            raise KeyError(name)
        return self.records[name]

    def __contains__(self, name: object) -> bool:
        return name not in self.omitted and name in self.records

    def __iter__(self) -> Iterator[str]:
        return (n for n in self.records if n not in self.omitted)

    def __len__(self) -> int:
        return sum(1 for _ in self)


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
    statement = f"vacuous: compared no {what}, so nothing was proven"
    return replace(outcome, verdict="failed", cause="vacuous", statement=statement, hint=why,
                   message=f"{check}: {compose(statement, hint=why)}",
                   words=compose(statement, hint=why))


def _unpaired_slots(tf1: Mapping[str, np.ndarray], tf2: Mapping[str, np.ndarray]) -> list[str]:
    """Slot records (`<variable>/<kind>`) of one side whose variable both sides have."""
    one_sided = [n for n in tf1 if n not in tf2] + [n for n in tf2 if n not in tf1]
    return [n for n in one_sided if n.rsplit("/", 1)[0] in tf1 and n.rsplit("/", 1)[0] in tf2]


#: The comparison of the eager TF2 model with its tf.function trace, as its messages name it.
EAGER = "eager vs tf.function"


def _with_eager(outcome: Outcome, traced: Mapping[str, np.ndarray], eager_file: str,
                tolerances: Mapping[str, tuple[float, float]], rtol: float, atol: float) -> Outcome:
    """Say whether the eager TF2 model agrees with its tf.function trace, to place the blame."""
    # Read a record at a time, as the check's own records are.
    with SideCheck("tf2", "tf_function-eager", "ok", file=eager_file).records() as eager:
        inner = compare_records(EAGER, eager, traced,
                                lambda name: tolerance_for(name, tolerances, rtol, atol))
    if inner:
        note = "the eager TF2 model and its tf.function trace agree"
    else:
        note = ("the eager TF2 model and its tf.function trace differ too: "
                + inner.words)
    if outcome:
        return replace(outcome, detail=note)
    return replace(outcome, message=f"{outcome.message}; {note}", words=f"{outcome.words}; {note}",
                   detail=f"{outcome.detail}\n{note}".strip())


def _no_gradient(outcome: Outcome, tf1: list, tf2: list) -> Outcome:
    only1 = sorted(set(tf1) - set(tf2))
    only2 = sorted(set(tf2) - set(tf1))
    if not (only1 or only2):
        return outcome
    parts = [f"no gradient on TF1 only: {', '.join(only1[:5])}"] if only1 else []
    parts += [f"no gradient on TF2 only: {', '.join(only2[:5])}"] if only2 else []
    statement = "; ".join(parts)
    if not outcome:
        statement += "; " + (outcome.statement or outcome.words or outcome.message)
    words = compose(statement, hint=outcome.hint)
    return Outcome("failed", f"gradients: {words}", outcome.detail, outcome.records,
                   outcome.warnings, cause="structure", statement=statement, hint=outcome.hint,
                   words=words)
