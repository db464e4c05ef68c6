"""`training_run`: both sides' training runs, step by step, against the noise of the run itself.
No TensorFlow here.

Round-off grows over training steps even in a correct migration, so a fixed tolerance either
fails correct code late in a run or hides a bug early in it. The TF1 side therefore trains twice
from the same values, batches and random numbers, the second time with every trainable variable
moved by one ulp after each step: what a different summation order leaves behind. How far that
run drifts from the first is the noise the training itself amplifies, measured on this model,
these batches and this machine. Where oneDNN is on, the TF1 run is also trained with it off in a
process of its own (run.kernels, meta `kernels`): at each record the noise is the larger drift.
The sides may differ by up to `noise_factor` times that noise (its running maximum: noise that
dipped by chance does not narrow the band) plus a floor, the
rtol of `training_run/*` records (the training class, 1e-4 by default, see checks.TOLERANCES).
A divergence is relative: |TF2 - TF1| / max(|TF1|, atol) for the loss; for a variable or slot,
the L2 norm of TF2 - TF1 over that of how far TF1 moved it from where both started (at least
atol per element), so that a defect of 1e-3 in the updates reads as 1e-3 however large the
weights are.
"""
from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

import numpy as np

from tf_equiv.checks import TRAINING_RUN as CHECK
from tf_equiv.errors import RecordsError
from tf_equiv.pair import tolerance_for
from tf_equiv.protocol.settings import JSON, PairSettings, TrainSettings
from tf_equiv.results import Verdict, compose, short
from tf_equiv.run.records import SideCheck
from tf_equiv.verdict.compare import Outcome

STEP = re.compile(rf"{CHECK}/(\d+)/(.+)")
#: Points kept per series for the pictures (the terminal's sparklines, the charts).
POINTS = 100
SPARKS = "▁▂▃▄▅▆▇█"


@dataclass
class Shadow:
    """A run the noise is measured on: its words, its records (named as the TF1 run's), and
    what the comparison found in it."""

    label: str
    records: Mapping[str, np.ndarray]
    largest: float = 0.0        # the largest relative drift from the TF1 run
    unusable: int = 0           # records (loss steps included) where it was not finite
    widest: int = 0             # records (loss steps included) where its drift was the largest
    records_seen: int = 0
    unused: str = ""            # why it measures nothing (then it has no records)


@dataclass(frozen=True)
class Point:
    """The largest divergence over band at one recorded step: the record, both, their ratio."""

    step: int
    name: str
    divergence: float
    band: float

    @property
    def excess(self) -> float:
        return self.divergence / self.band if self.band > 0 else math.inf


def train_of(settings: PairSettings) -> TrainSettings:
    """The pair's `train`, or its defaults for a pair declared without one."""
    return settings.train or TrainSettings()


def loss_band(settings: PairSettings) -> tuple[float, float, float]:
    """(noise factor, rtol, atol) the loss is judged with: how many times the run's own noise
    the sides may differ by, and the pair's tolerance for the loss record."""
    rtol, atol = tolerance_for(f"{CHECK}/loss", settings.tolerances, settings.rtol, settings.atol)
    return float(train_of(settings).noise_factor), rtol, atol


def compare_training(tf1: SideCheck, tf2: SideCheck,
                     settings: Union[PairSettings, JSON]) -> Outcome:
    """The verdict of a training run. Records are read one at a time: a run's variables and slots
    at every recorded step, on both sides and in the noise runs, need not fit in memory."""
    with contextlib.ExitStack() as stack:
        a1, a2 = stack.enter_context(tf1.records()), stack.enter_context(tf2.records())
        return _compare(tf1, tf2, a1, a2, PairSettings.of(settings), stack)


def _compare(tf1: SideCheck, tf2: SideCheck, a1: Mapping[str, np.ndarray],
             a2: Mapping[str, np.ndarray], settings: PairSettings,
             stack: contextlib.ExitStack) -> Outcome:
    factor, rtol, atol = loss_band(settings)
    every = train_of(settings).every
    loss1, loss2 = a1.get(f"{CHECK}/loss"), a2.get(f"{CHECK}/loss")
    if loss1 is None or loss2 is None or "noise/loss" not in a1:
        return _said("error" if loss1 is None or loss2 is None else "failed",
                     "a side recorded no loss series", cause="structure")
    if len(loss1) != len(loss2):
        return _said("failed", f"TF1 trained {len(loss1)} steps, TF2 {len(loss2)}",
                     cause="structure")
    broken = _nonfinite(loss1, loss2)
    if broken is not None:
        return broken
    shadows = _shadows(tf1, a1, stack)
    scale = np.maximum(np.abs(loss1), atol)
    divergence = np.abs(loss2 - loss1) / scale
    band = factor * np.maximum.accumulate(_loss_noise(shadows, loss1, scale)) + rtol
    points, missing, compared = _variables(a1, a2, shadows, factor, rtol, atol)
    if missing:
        return _said("failed", f"structure differs: {len(missing)} variables or slots only in "
                               f"TF1: {', '.join(missing[:5])}", cause="structure")
    if not compared:
        return _said("failed", "vacuous: compared no variable after a step, so nothing was "
                               "proven", cause="vacuous")
    series = _series(loss1, loss2, divergence, band)
    detail = _detail(loss1, loss2, divergence, band, tf1.meta, tf2.meta, shadows)
    out_loss = np.nonzero(divergence > band)[0]
    out_vars = [p for p in points if p.excess > 1]
    steps = len(loss1)
    if not len(out_loss) and not out_vars:
        ratios = [(band[i] / divergence[i], f"the loss at step {i + 1}", divergence[i], band[i])
                  for i in range(steps) if divergence[i] > 0]
        ratios += [(p.band / p.divergence, f"{p.name} at step {p.step}", p.divergence, p.band)
                   for p in points if p.divergence > 0]
        closest = min(ratios, default=None)
        margin = closest[0] if closest else math.inf
        where = (f"; closest to it: {closest[1]}, divergence {short(closest[2])} against a band "
                 f"of {short(closest[3])}, margin {times(margin)}x") if closest else \
            "; the sides are equal at every step, margin inf"
        return _said("passed", f"{steps} steps inside the noise band (the loss every step, "
                               f"{len(compared)} variables and slots every {every}){where}",
                     detail=detail, series=series, margin=margin)
    return _said("failed", _departure(loss1, loss2, divergence, band, out_loss, out_vars, every,
                                      steps), detail=detail, series=series)


def _said(verdict: Verdict, words: str, detail: str = "", cause: str = "",
          series: tuple[tuple[str, tuple[float, ...]], ...] = (),
          margin: Optional[float] = None) -> Outcome:
    """An outcome whose message is the check's id and `words`."""
    return Outcome(verdict, f"{CHECK}: {words}", detail, cause=cause, series=series,
                   margin=margin, words=words)


def window(tf1: SideCheck, tf2: SideCheck,
           settings: Union[PairSettings, JSON]) -> Optional[tuple[int, int]]:
    """Where the free runs left the band, (first, last): from the step after the last recorded
    step where every record was still inside its band, to the step where the sides left it;
    from step 1 when TF2 keeps optimizer slots TF1 does not (their state cannot be taken from
    TF1). None when the run did not leave the band (or a loss is not finite)."""
    with contextlib.ExitStack() as stack:
        a1, a2 = stack.enter_context(tf1.records()), stack.enter_context(tf2.records())
        return _window(tf1, a1, a2, PairSettings.of(settings), stack)


def _window(tf1: SideCheck, a1: Mapping[str, np.ndarray], a2: Mapping[str, np.ndarray],
            settings: PairSettings, stack: contextlib.ExitStack) -> Optional[tuple[int, int]]:
    factor, rtol, atol = loss_band(settings)
    loss1, loss2 = a1.get(f"{CHECK}/loss"), a2.get(f"{CHECK}/loss")
    if loss1 is None or loss2 is None or "noise/loss" not in a1 or len(loss1) != len(loss2):
        return None
    if not (np.isfinite(loss1).all() and np.isfinite(loss2).all()):
        return None     # a loss that blows up on one side is no departure from a band
    shadows = _shadows(tf1, a1, stack)
    scale = np.maximum(np.abs(loss1), atol)
    band = factor * np.maximum.accumulate(_loss_noise(shadows, loss1, scale)) + rtol
    out = np.nonzero(~(np.abs(loss2 - loss1) / scale <= band))[0]
    points = _variables(a1, a2, shadows, factor, rtol, atol)[0]
    left = [int(out[0]) + 1] if len(out) else []
    left += [p.step for p in points if p.excess > 1][:1]
    if not left:
        return None
    last = min(left)
    paired = all(key in a1 for key in a2 if STEP.fullmatch(key))
    first = max([p.step for p in points if p.step < last], default=0) + 1 if paired else 1
    return first, last


def _nonfinite(loss1: np.ndarray, loss2: np.ndarray) -> Optional[Outcome]:
    bad1, bad2 = ~np.isfinite(loss1), ~np.isfinite(loss2)
    if not (bad1.any() or bad2.any()):
        return None
    first = int(np.nonzero(bad1 | bad2)[0][0])
    if bad1[first] and bad2[first]:
        statement = (f"vacuous: the loss is not finite on both sides from step {first + 1}, so "
                     "nothing after it was proven")
        hint = "lower the learning rate or the steps"
        words = compose(statement, hint=hint)
        return Outcome("failed", f"{CHECK}: {words}", cause="vacuous", statement=statement,
                       hint=hint, words=words)
    side, other = ("TF2", loss1) if bad2[first] else ("TF1", loss2)
    return _said("failed", f"the loss is not finite on {side} from step {first + 1} (the other "
                           f"side's is {short(float(other[first]))})")


class _Renamed(Mapping[str, np.ndarray]):
    """The `noise/...` records of the TF1 side's file, named as its `training_run/...` ones."""

    def __init__(self, records: Mapping[str, np.ndarray], prefix: str) -> None:
        self.records, self.prefix = records, prefix

    def _key(self, name: str) -> str:
        return self.prefix + name[len(CHECK) + 1:] if name.startswith(f"{CHECK}/") else ""

    def __getitem__(self, name: str) -> np.ndarray:
        return self.records[self._key(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self.records

    def __iter__(self) -> Iterator[str]:
        return (f"{CHECK}/{k[len(self.prefix):]}" for k in self.records
                if k.startswith(self.prefix))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _shadows(tf1: SideCheck, a1: Mapping[str, np.ndarray],
             stack: contextlib.ExitStack) -> list[Shadow]:
    """The runs the noise is measured on, their records named as the TF1 run's: the one-ulp run
    (`noise/...` beside the TF1 run's records), and the oneDNN-off run where there is one
    (meta `kernels`, see run.kernels)."""
    found = [Shadow(str(tf1.meta.get("noise", "the one-ulp run")), _Renamed(a1, "noise/"))]
    if tf1.meta.get("kernels"):
        label = str(tf1.meta.get("kernels_label", "the oneDNN-off run"))
        try:
            kernel = stack.enter_context(
                SideCheck(tf1.side, CHECK, "ok", file=str(tf1.meta["kernels"])).records())
            # Noise is measured from the same start: a run that started elsewhere measures
            # nothing.
            starts = [k for k in a1 if k.startswith("start/")]
            same = bool(starts) and all(k in kernel and np.array_equal(
                kernel[k], a1[k], equal_nan=a1[k].dtype.kind in "fc") for k in starts)
        except RecordsError as e:
            found.append(Shadow(label, {}, unused=f"its records cannot be read: {e}"))
            return found
        found.append(Shadow(label, kernel) if same else Shadow(
            label, {}, unused="it started from other values than the TF1 run (initializers "
                              "that draw outside TensorFlow's seeds?)"))
    return found


def _drift(shadow: Shadow, key: str, reference: np.ndarray, scale: float | np.ndarray,
           norm: bool) -> Any:
    """How far a noise run is from the TF1 run at one record, over `scale` (element-wise for the
    loss series, the L2 norm for a variable), noted in the shadow; 0 where it has no such record
    or is not finite (a noise run that blew up measures nothing: it never widens the band)."""
    try:
        other = shadow.records.get(key)
    except RecordsError:        # a member that cannot be read measures nothing either
        other, shadow.unusable = None, shadow.unusable + 1
    if other is None or other.shape != reference.shape:
        return 0.0 if norm else np.zeros(reference.shape)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(other.astype(np.float64) - reference)
        drift = (float(np.linalg.norm(diff)) if norm else diff) / scale
    finite = np.isfinite(drift)
    if not np.all(finite):
        shadow.unusable += int(np.size(finite) - np.count_nonzero(finite))
        drift = 0.0 if norm else np.where(finite, drift, 0.0)
    shadow.largest = max(shadow.largest, float(np.max(drift)) if np.size(drift) else 0.0)
    return drift


def _loss_noise(shadows: Sequence[Shadow], loss1: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The relative drift of the loss, step by step: the largest of the noise runs'."""
    reference = loss1.astype(np.float64)
    drifts = np.array([_drift(s, f"{CHECK}/loss", reference, scale, norm=False)
                       for s in shadows])
    for step in range(drifts.shape[1]):
        _widest(shadows, list(drifts[:, step]))
    return drifts.max(axis=0)


def _widest(shadows: Sequence[Shadow], drifts: list[float]) -> float:
    """The largest of the noise runs' drifts at one record; the run it came from is counted."""
    widest = int(np.argmax(drifts))
    if drifts[widest] > 0:
        shadows[widest].widest += 1
    for shadow in shadows:
        shadow.records_seen += 0 if shadow.unused else 1
    return drifts[widest]


def _variables(a1: Mapping[str, np.ndarray], a2: Mapping[str, np.ndarray],
               shadows: Sequence[Shadow], factor: float, rtol: float,
               atol: float) -> tuple[list[Point], list[str], list[str]]:
    """Per recorded step, the record whose divergence is largest against its band; the records
    one side lacks (optimizer slots of a kind the other optimizer does not keep excepted: they
    hold different quantities); the records compared."""
    by_step: dict[int, list[str]] = {}
    for key in a1:
        match = STEP.fullmatch(key)
        if match:
            by_step.setdefault(int(match.group(1)), []).append(match.group(2))
    noise_max: dict[str, float] = {}
    points: list[Point] = []
    missing: list[str] = []
    compared: list[str] = []
    for step in sorted(by_step):
        names = by_step[step]
        worst: Optional[Point] = None
        for name in names:
            key = f"{CHECK}/{step}/{name}"
            if key not in a2:
                slot_of = name.rsplit("/", 1)[0] if "/" in name else ""
                if slot_of not in names and name not in missing:
                    missing.append(name)
                continue
            if name not in compared:
                compared.append(name)
            reference = a1[key].astype(np.float64)
            size = max(1, reference.size)
            start = a1.get(f"start/{name}")
            moved = reference - start.astype(np.float64) if start is not None else reference
            scale = max(float(np.linalg.norm(moved)), atol * math.sqrt(size))
            divergence = float(np.linalg.norm(a2[key].astype(np.float64) - reference)) / scale
            noise = _widest(shadows, [float(_drift(s, key, reference, scale, norm=True))
                                      for s in shadows])
            noise_max[name] = max(noise_max.get(name, 0.0), noise)
            point = Point(step, name, divergence, factor * noise_max[name] + rtol)
            if worst is None or point.excess > worst.excess:
                worst = point
        if worst is not None:
            points.append(worst)
    return points, missing, compared


def _departure(loss1: np.ndarray, loss2: np.ndarray, divergence: np.ndarray, band: np.ndarray,
               out_loss: np.ndarray, out_vars: Sequence[Point], every: int, steps: int) -> str:
    first_var = out_vars[0] if out_vars else None
    moved = (f"; the variable that moved first: {first_var.name} (at step {first_var.step}: "
             f"divergence {short(first_var.divergence)}, {times(first_var.excess)}x its band "
             f"{short(first_var.band)})") if first_var else \
        "; every variable was still inside its band where it was recorded"
    if len(out_loss) and (first_var is None or out_loss[0] + 1 <= first_var.step):
        i = int(out_loss[0])
        return (f"the sides leave the noise band at step {i + 1} of {steps}: loss TF1 "
                f"{_loss(loss1[i])}, TF2 {_loss(loss2[i])} (divergence {short(divergence[i])}, "
                f"{times(divergence[i] / band[i])}x the band {short(band[i])}){moved}")
    assert first_var is not None
    after = max(0, first_var.step - every)
    i = first_var.step - 1
    return (f"the sides leave the noise band between step {after + 1} and step "
            f"{first_var.step} of {steps} (variables are recorded every {every} steps; the loss "
            f"stayed inside: TF1 {_loss(loss1[i])}, TF2 {_loss(loss2[i])} at step "
            f"{first_var.step}){moved}")


def _loss(value: float) -> str:
    return f"{value:.6g}"


def times(x: float) -> str:
    if math.isinf(x):
        return "inf"
    return f"{x:.2g}" if x < 10 else f"{x:.0f}"


def _thin(n: int) -> list[int]:
    if n <= POINTS:
        return list(range(n))
    return sorted({round(i * (n - 1) / (POINTS - 1)) for i in range(POINTS)})


def _series(loss1: np.ndarray, loss2: np.ndarray, divergence: np.ndarray,
            band: np.ndarray) -> tuple[tuple[str, tuple[float, ...]], ...]:
    keep = _thin(len(loss1))
    return (("step", tuple(float(i + 1) for i in keep)),
            ("loss_tf1", tuple(float(loss1[i]) for i in keep)),
            ("loss_tf2", tuple(float(loss2[i]) for i in keep)),
            ("divergence", tuple(float(divergence[i]) for i in keep)),
            ("band", tuple(float(band[i]) for i in keep)))


def sparkline(values: Sequence[float], log: bool = False, width: int = 40) -> str:
    """The values as one line of block characters (log scale: zeros at the bottom)."""
    if not len(values):
        return ""
    count = min(width, len(values))
    picked = [values[round(i * (len(values) - 1) / max(1, count - 1))] for i in range(count)]
    if log:
        tiny = min((v for v in picked if v > 0), default=1.0)
        picked = [math.log10(v if v > 0 else tiny / 10) for v in picked]
    low, high = min(picked), max(picked)
    span = high - low or 1.0
    return "".join(SPARKS[min(len(SPARKS) - 1, int((v - low) / span * len(SPARKS)))]
                   for v in picked)


def _detail(loss1: np.ndarray, loss2: np.ndarray, divergence: np.ndarray, band: np.ndarray,
            meta1: Mapping[str, Any], meta2: Mapping[str, Any],
            shadows: Sequence[Shadow]) -> str:
    steps = len(loss1)
    lines = [f"steps 1..{steps}",
             f"loss TF1    {sparkline(list(loss1))}  {_loss(loss1[0])} -> {_loss(loss1[-1])}",
             f"loss TF2    {sparkline(list(loss2))}  {_loss(loss2[0])} -> {_loss(loss2[-1])}",
             f"divergence  {sparkline(list(divergence), log=True)}  max "
             f"{short(float(divergence.max()))} (log scale)",
             f"noise band  {sparkline(list(band), log=True)}  max {short(float(band.max()))}"]
    if meta1.get("seconds_per_step") or meta2.get("seconds_per_step"):
        lines.append(f"time per step: TF1 {1000 * meta1.get('seconds_per_step', 0.0):.3g} ms "
                     f"(its noise run {1000 * meta1.get('noise_seconds_per_step', 0.0):.3g} ms), "
                     f"TF2 {1000 * meta2.get('seconds_per_step', 0.0):.3g} ms")
    if meta2.get("mode"):
        lines.append(f"TF2 step: {meta2['mode']}")
    for shadow in shadows:
        if shadow.unused:
            lines.append(f"noise: {shadow.label}: not counted: {shadow.unused}")
            continue
        lines.append(f"noise: {shadow.label}: largest relative drift {short(shadow.largest)}, "
                     f"the widest of the noise runs at {shadow.widest} of {shadow.records_seen} "
                     "records"
                     + (f" (not finite at {shadow.unusable} records: not counted)"
                        if shadow.unusable else ""))
    if meta1.get("kernels_error"):
        lines.append(f"noise: the TF1 run with oneDNN off is missing ({meta1['kernels_error']}): "
                     "the band is the one-ulp model alone")
    return "\n".join(lines)
