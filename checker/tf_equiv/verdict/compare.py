"""Records x records -> comparisons with statistics. Plain numpy; results are values.

The TF1 side is the reference ("desired"): an element passes when
|tf2 - tf1| <= atol + rtol * |tf1|, as in `numpy.testing.assert_allclose`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence, TypedDict

import numpy as np

from tf_equiv.results import RecordComparison, Verdict, index_words, short

MAX_TABLE_ROWS = 40
#: Machine epsilon of the float formats narrower than float32. Their records reach the parent
#: upcast exactly to float32 (workers name the format); each side rounds its result once to the
#: format, so two correct results may differ by a unit of it: they are compared at no less than
#: NARROW_ULPS epsilons relative, whatever the pair's rtol.
NARROW_FLOATS = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7, "float8_e4m3fn": 2.0 ** -3,
                 "float8_e5m2": 2.0 ** -2}
NARROW_ULPS = 2
#: Records with at most this many channels (last axis) keep their difference per channel.
MAX_CHANNELS = 1024


def margin(records: Sequence[RecordComparison]) -> Optional[tuple[float, str, float, float]]:
    """How far a passing comparison is from failing: (the rtol used over the smallest rtol that
    would pass, at the same atol; the record where that is least; its rtol; the rtol it needed),
    over the float records compared with statistics. inf: every one is equal or within atol.
    None: nothing was compared with a tolerance (exact comparisons, no records)."""
    found: Optional[tuple[float, str, float, float]] = None
    for r in records:
        if not r.passed or r.problem or r.rtol <= 0 or r.total == 0:
            continue
        factor = r.rtol / r.needed_rtol if r.needed_rtol > 0 else math.inf
        if found is None or factor < found[0]:
            found = (factor, r.name, r.rtol, r.needed_rtol)
    return found


def margin_words(found: tuple[float, str, float, float]) -> str:
    """"margin 40x (rtol 1e-06, 2.5e-08 needed at outputs/logits)", or "every record within
    atol or equal"."""
    factor, name, rtol, needed = found
    if math.isinf(factor):
        return "every record equal or within atol"
    return f"margin {_factor(factor)}x (rtol {short(rtol)}, {short(needed)} needed at {name})"


def _factor(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


@dataclass(frozen=True)
class Outcome:
    """A check's result on the parent side, before xfail/skip are applied."""

    verdict: Verdict
    message: str
    detail: str = ""
    records: tuple[RecordComparison, ...] = ()
    warnings: tuple[str, ...] = ()
    file: str = ""         # a user-code location this outcome points at, if any
    line: int = 0
    cause: str = ""        # CaseResult.cause: a cause already named ("structure", ...)
    #: A comparison that is no record by record one (training_run): its margin, and the series
    #: its pictures draw (CaseResult.series).
    margin: Optional[float] = None
    series: tuple[tuple[str, tuple[float, ...]], ...] = ()

    def __bool__(self) -> bool:
        return self.verdict == "passed"


class _Common(TypedDict):
    """The fields every RecordComparison of one record shares, whatever the outcome."""

    name: str
    rtol: float
    atol: float
    shape: tuple[int, ...]
    total: int


def compare_arrays(name: str, tf1: np.ndarray, tf2: np.ndarray, rtol: float,
                   atol: float, dtypes: tuple[str, str] = ("", "")) -> RecordComparison:
    """Compare one record; non-finite values on either side never pass. Floats within the
    tolerance (complex ones by the magnitude of the difference), integers and everything else
    exactly. `dtypes`: each side's format when the array is an upcast of it (bfloat16)."""
    a, b = np.asarray(tf1), np.asarray(tf2)
    d1, d2 = dtypes[0] or _type_name(a), dtypes[1] or _type_name(b)
    if d1 in NARROW_FLOATS:
        rtol = max(rtol, NARROW_ULPS * NARROW_FLOATS[d1])
    base = _Common(name=name, rtol=rtol, atol=atol, shape=tuple(a.shape), total=int(a.size))
    if a.shape != b.shape:
        return RecordComparison(passed=False, problem="shape",
                                note=f"shape differs: TF1 {_shape(a.shape)}, TF2 {_shape(b.shape)}",
                                **base)
    if d1 != d2 or (a.dtype != b.dtype and d1 != "string"):
        return RecordComparison(passed=False, problem="dtype",
                                note=f"dtype differs: TF1 {d1}, TF2 {d2}", **base)
    if a.dtype.kind not in "fc":
        base = {**base, "rtol": 0.0, "atol": 0.0}     # compared exactly, whatever the tolerance
    if a.dtype.kind in "biu":
        return _compare_exact_integers(a, b, base)
    if a.dtype.kind not in "fc":
        equal = bool(np.array_equal(a, b))
        return RecordComparison(passed=equal, mismatched=0 if equal else int(np.sum(a != b)),
                                problem="" if equal else "values",
                                note="" if equal else "values differ", **base)
    if a.size == 0:
        return RecordComparison(passed=True, weak=True, **base)
    fin_a, fin_b = np.isfinite(a), np.isfinite(b)
    if not (fin_a.all() and fin_b.all()):
        return RecordComparison(passed=False, problem="nonfinite",
                                note=_nonfinite_note(a, b, fin_a, fin_b), **base)
    if np.array_equal(a, b):
        # Bitwise-equal records are common (identical kernels on both sides): skip the statistics.
        return RecordComparison(passed=True, weak=_all_one_value(a, b), **base)
    wide = np.complex128 if a.dtype.kind == "c" else np.float64
    a64, b64 = a.astype(wide), b.astype(wide)
    diff = np.abs(b64 - a64)
    ref = np.abs(a64)
    allowed = atol + rtol * ref
    bad = diff > allowed
    worst = np.unravel_index(int(np.argmax(diff - allowed)), a.shape) if a.ndim else ()
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(ref > 0, diff / ref, np.where(diff > 0, np.inf, 0.0))
        need_rtol = np.where(ref > 0, (diff - atol) / ref, np.where(diff > atol, np.inf, 0.0))
    weak = _all_one_value(a, b)
    channels: tuple[float, ...] = ()
    if bad.any() and a.ndim >= 2 and 1 < a.shape[-1] <= MAX_CHANNELS:
        channels = tuple(float(v) for v in diff.reshape(-1, a.shape[-1]).max(axis=0))
    return RecordComparison(
        channels=channels,
        passed=not bool(bad.any()), mismatched=int(bad.sum()), max_abs=float(diff.max()),
        max_rel=float(rel.max()), worst_index=tuple(int(i) for i in worst),
        needed_rtol=max(0.0, float(need_rtol.max())),
        needed_atol=max(0.0, float((diff - rtol * ref).max())), weak=weak, **base)


def _type_name(a: np.ndarray) -> str:
    # Strings arrive as fixed-width arrays, as wide as their longest value: one type for them all.
    return "string" if a.dtype.kind in "SU" else a.dtype.name


def _compare_exact_integers(a: np.ndarray, b: np.ndarray, base: _Common) -> RecordComparison:
    """Integers (and booleans) must be equal: no tolerance, and no float64 on the way, which
    would round 2**60 and 2**60 + 1 to one number. Differences are taken as Python integers."""
    differ = a != b
    count = int(np.count_nonzero(differ))
    if not count:
        return RecordComparison(passed=True, weak=_all_one_value(a, b), **base)
    where = np.argwhere(differ) if a.ndim else np.zeros((1, 0), dtype=int)
    pairs = list(zip(a[differ].tolist(), b[differ].tolist()))
    diffs = [abs(int(y) - int(x)) for x, y in pairs]
    worst = int(np.argmax(diffs))
    index = tuple(int(i) for i in where[worst])
    x, y = pairs[worst]
    note = (f"{count} of {a.size} integer elements differ (integers are compared exactly); "
            f"largest difference {diffs[worst]} at index {index_words(index)}: TF1 {x}, TF2 {y}")
    return RecordComparison(passed=False, problem="values", note=note, mismatched=count,
                            max_abs=float(diffs[worst]), worst_index=index, needed_rtol=math.inf,
                            needed_atol=float(diffs[worst]), **base)


def _all_one_value(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a.size > 1 and np.all(a == a.flat[0]) and np.all(b == b.flat[0]))


def _nonfinite_note(a: np.ndarray, b: np.ndarray, fin_a: np.ndarray, fin_b: np.ndarray) -> str:
    def kind(x: np.ndarray, fin: np.ndarray) -> str:
        kinds = [k for k, m in (("NaN", np.isnan(x)), ("inf", np.isinf(x))) if m.any()]
        return "/".join(kinds) + f" in {int((~fin).sum())} of {x.size} elements"

    if not fin_a.all() and not fin_b.all():
        return f"non-finite on both sides (TF1: {kind(a, fin_a)}; TF2: {kind(b, fin_b)})"
    side, x, fin = ("TF1", a, fin_a) if not fin_a.all() else ("TF2", b, fin_b)
    return f"non-finite on {side} only ({kind(x, fin)}); the other side is finite"


ToleranceFn = Callable[[str], "tuple[float, float]"]


def compare_records(check: str, tf1: Mapping[str, np.ndarray], tf2: Mapping[str, np.ndarray],
                    tolerance: ToleranceFn, order: Optional[Sequence[str]] = None,
                    dtypes: tuple[Mapping[str, str], Mapping[str, str]] = ({}, {})) -> Outcome:
    """Compare two record sets in forward order (`order`, else TF1's); report the first divergence.
    `dtypes`: each side's {record: format} for records upcast from a narrow float format."""
    names = [n for n in (order or tf1) if n in tf1] + [n for n in tf1 if order and n not in order]
    only1 = [n for n in names if n not in tf2]
    only2 = [n for n in tf2 if n not in tf1]
    results = tuple(compare_arrays(n, tf1[n], tf2[n], *tolerance(n),
                                   dtypes=(dtypes[0].get(n, ""), dtypes[1].get(n, "")))
                    for n in names if n in tf2)
    warnings = _weak_warning(results)
    structure = _structure_note(only1, only2)
    failing = [r for r in results if not r]
    if not failing and not structure:
        return Outcome("passed", f"{check}: {len(results)} records match", records=results,
                       warnings=warnings)
    detail = table(results)
    if structure:
        message = f"{check}: {structure}"
        if failing:
            message += f"; and {len(failing)} common records differ, first {failing[0].name}"
        return Outcome("failed", message, detail=detail, records=results, warnings=warnings,
                       cause="structure")
    first = failing[0]
    before = results.index(first)
    more = f" (+{len(failing) - 1} more records differ)" if len(failing) > 1 else ""
    if first.problem == "nonfinite":
        message = (f"{check}: vacuous: {first.name} is {first.note}; {before} of {len(results)} "
                   f"records were finite and equal before it in forward order{more}. Hint: a "
                   "comparison of non-finite values proves nothing; fix the overflow or compare "
                   "with real weights (transferred_inference)")
        return Outcome("failed", message, detail=detail, records=results, warnings=warnings,
                       cause="vacuous")
    message = f"{check}: first divergence in forward order: {first.summary()}{more}"
    # Another shape or dtype is a structure no variation of the numerics changes.
    return Outcome("failed", message, detail=detail, records=results, warnings=warnings,
                   cause="structure" if first.problem in ("shape", "dtype") else "")


def _structure_note(only1: Sequence[str], only2: Sequence[str]) -> str:
    parts = []
    if only1:
        parts.append(f"{len(only1)} records only in TF1: {_names(only1)}")
    if only2:
        parts.append(f"{len(only2)} records only in TF2: {_names(only2)}")
    return ("structure differs: " + "; ".join(parts)) if parts else ""


def _weak_warning(results: Sequence[RecordComparison]) -> tuple[str, ...]:
    # Constant initializers (zeros, ones) are weak by design: warn only about computed records.
    weak = [r.name for r in results if r.weak and not r.name.startswith("initial/")]
    if not weak:
        return ()
    return (f"weak comparison: {len(weak)} records have every element equal to one value on both "
            f"sides: {_names(weak)}",)


def table(results: Sequence[RecordComparison]) -> str:
    """The statistics of every failing record (and the count of passing ones), as text."""
    failing = [r for r in results if not r]
    header = ("record", "shape", "max abs", "max rel", "worst index", "mismatched", "rtol needed",
              "atol needed")
    rows = [header] + [
        (r.name, _shape(r.shape), short(r.max_abs), short(r.max_rel), index_words(r.worst_index),
         f"{r.mismatched}/{r.total}", short(r.needed_rtol), short(r.needed_atol))
        for r in failing[:MAX_TABLE_ROWS] if not r.problem]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(f"{c:<{w}}" for c, w in zip(row, widths)).rstrip() for row in rows]
    lines += [f"{r.name}  {_shape(r.shape)}  {r.note}" for r in failing[:MAX_TABLE_ROWS] if r.problem]
    if len(failing) > MAX_TABLE_ROWS:
        lines.append(f"... {len(failing) - MAX_TABLE_ROWS} more failing records")
    lines.append(f"{len(results) - len(failing)} of {len(results)} records passed")
    return "\n".join(lines)


def _names(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def _shape(shape: tuple[int, ...]) -> str:
    return index_words(tuple(shape))
