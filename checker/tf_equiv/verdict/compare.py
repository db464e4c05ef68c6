"""Records x records -> comparisons with statistics. Plain numpy; results are values.

The TF1 side is the reference ("desired"): an element passes when
|tf2 - tf1| <= atol + rtol * |tf1|, as in `numpy.testing.assert_allclose`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, TypedDict

import numpy as np

from tf_equiv.results import RecordComparison, Verdict, compose, index_words, short

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
    #: The message's parts, as CaseResult carries them (results.compose joins them).
    statement: str = ""
    hint: str = ""
    audit: str = ""
    #: A comparison that is no record by record one (training_run): its margin, and the series
    #: its pictures draw (CaseResult.series).
    margin: Optional[float] = None
    series: tuple[tuple[str, tuple[float, ...]], ...] = ()
    #: CaseResult.words: the message without the check's id it starts with.
    words: str = ""

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
    exactly. `dtypes`: each side's format when the array is an upcast of it (bfloat16).

    Every pass over the elements goes a block of BLOCK elements at a time: the memory a
    comparison needs beyond the two records is bounded (about 12 bytes per element of a block
    of float64 temporaries), whatever the record's size."""
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
        return _compare_exact_values(a, b, base)
    if a.size == 0:
        return RecordComparison(passed=True, weak=True, **base)
    fa, fb = _flat(a), _flat(b)
    step = _step(a.shape)
    if not _every(lambda x, y: np.isfinite(x).all() and np.isfinite(y).all(), fa, fb, step):
        return RecordComparison(passed=False, problem="nonfinite",
                                note=_nonfinite_note(fa, fb, step), **base)
    weak = _all_one_value(fa, fb, step)
    if _every(np.array_equal, fa, fb, step):
        # Bitwise-equal records are common (identical kernels on both sides): skip the statistics.
        return RecordComparison(passed=True, weak=weak, **base)
    stats = _Statistics(rtol, atol, a.shape[-1] if a.ndim >= 2 and 1 < a.shape[-1] <= MAX_CHANNELS
                        else 0, fa.size > step)
    for i, j in _blocks(fa.size, step):
        stats.add(i, fa[i:j], fb[i:j])
    worst = np.unravel_index(stats.worst, a.shape) if a.ndim else ()
    channels: tuple[float, ...] = ()
    if stats.bad and stats.channels is not None:
        channels = tuple(float(v) for v in stats.channels)
    return RecordComparison(
        channels=channels, passed=not stats.bad, mismatched=stats.bad, max_abs=stats.max_abs,
        max_rel=stats.max_rel, worst_index=tuple(int(i) for i in worst),
        needed_rtol=max(0.0, stats.need_rtol), needed_atol=max(0.0, stats.need_atol), weak=weak,
        **base)


#: Elements a pass over a record takes at once (each float64 temporary of a block: 1 MiB).
BLOCK = 1 << 17


def _flat(a: np.ndarray) -> np.ndarray:
    """The elements in C order, without a copy for the C-ordered arrays records are."""
    return a.reshape(-1)


def _step(shape: tuple[int, ...]) -> int:
    """Block length: whole rows of the last axis when there are channels to keep per column."""
    last = shape[-1] if len(shape) >= 2 else 0
    if 1 < last <= MAX_CHANNELS:
        return max(1, BLOCK // last) * last
    return BLOCK


def _blocks(size: int, step: int) -> Iterator[tuple[int, int]]:
    return ((i, min(i + step, size)) for i in range(0, size, step))


def _every(test: Callable[[np.ndarray, np.ndarray], Any], a: np.ndarray, b: np.ndarray,
           step: int) -> bool:
    """Whether `test` holds for every block of the two flat arrays."""
    if a.size <= step:      # most records: one block
        return bool(test(a, b))
    return all(test(a[i:j], b[i:j]) for i, j in _blocks(a.size, step))


class _Statistics:
    """A float record's statistics, accumulated block by block; each is what the same formula
    over the whole array gives (maxima, counts, and the first worst element in C order)."""

    def __init__(self, rtol: float, atol: float, channels: int, blocks: bool) -> None:
        self.rtol, self.atol, self.width = rtol, atol, channels
        #: Several blocks: the maxima per channel are kept from the first block on, as a later
        #: block may fail; one block keeps them only when it fails (they are shown then only).
        self.every_block = blocks
        self.bad = 0
        self.max_abs = self.max_rel = self.need_rtol = self.need_atol = -math.inf
        self.worst, self._worst_by = 0, -math.inf
        self.channels: Optional[np.ndarray] = None

    def add(self, start: int, a: np.ndarray, b: np.ndarray) -> None:
        wide = np.complex128 if a.dtype.kind == "c" else np.float64
        a64 = a.astype(wide)
        diff = np.abs(b.astype(wide) - a64)
        ref = np.abs(a64)
        del a64
        allowed = self.atol + self.rtol * ref
        self.bad += int(np.count_nonzero(diff > allowed))
        over = diff - allowed
        at = int(np.argmax(over))
        if over[at] > self._worst_by:       # ties keep the earlier block, as np.argmax does
            self.worst, self._worst_by = start + at, float(over[at])
        del over, allowed
        self.max_abs = max(self.max_abs, float(diff.max()))
        self.need_atol = max(self.need_atol, float((diff - self.rtol * ref).max()))
        positive = ref > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(positive, diff / ref, np.where(diff > 0, np.inf, 0.0))
            self.max_rel = max(self.max_rel, float(rel.max()))
            del rel
            need = np.where(positive, (diff - self.atol) / ref,
                            np.where(diff > self.atol, np.inf, 0.0))
            self.need_rtol = max(self.need_rtol, float(need.max()))
        if self.width and (self.every_block or self.bad):
            most = diff.reshape(-1, self.width).max(axis=0)
            self.channels = most if self.channels is None else np.maximum(self.channels, most)


def _type_name(a: np.ndarray) -> str:
    # Strings arrive as fixed-width arrays, as wide as their longest value, or (stored exactly,
    # run.records) as arrays of Python bytes: one type for them all.
    return "string" if a.dtype.kind in "SUO" else a.dtype.name


def _magnitude(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """|y - x| of integers as uint64, exact for every pair of int64 or uint64 values (their
    difference is below 2**64; unsigned subtraction wraps to it)."""
    wide = np.int64 if x.dtype.kind == "i" else np.uint64
    x, y = x.astype(wide), y.astype(wide)
    xu, yu = x.view(np.uint64), y.view(np.uint64)
    return np.where(y >= x, yu - xu, xu - yu)


def _compare_exact_integers(a: np.ndarray, b: np.ndarray, base: _Common) -> RecordComparison:
    """Integers (and booleans) must be equal: no tolerance, and no float64 on the way, which
    would round 2**60 and 2**60 + 1 to one number. Differences are exact (`_magnitude`)."""
    fa, fb = _flat(a), _flat(b)
    count, worst, largest = 0, 0, 0
    for i, j in _blocks(fa.size, BLOCK):
        differ = int(np.count_nonzero(fa[i:j] != fb[i:j]))
        if not differ:
            continue
        count += differ
        size = _magnitude(fa[i:j], fb[i:j])
        at = int(np.argmax(size))
        if int(size[at]) > largest:
            worst, largest = i + at, int(size[at])
    if not count:
        return RecordComparison(passed=True, weak=_all_one_value(fa, fb, BLOCK), **base)
    index = tuple(int(i) for i in np.unravel_index(worst, a.shape)) if a.ndim else ()
    x, y = fa[worst].item(), fb[worst].item()
    note = (f"{count} of {a.size} integer elements differ (integers are compared exactly); "
            f"largest difference {largest} at index {index_words(index)}: TF1 {x}, TF2 {y}")
    return RecordComparison(passed=False, problem="values", note=note, mismatched=count,
                            max_abs=float(largest), worst_index=index, needed_rtol=math.inf,
                            needed_atol=float(largest), **base)


def _compare_exact_values(a: np.ndarray, b: np.ndarray, base: _Common) -> RecordComparison:
    """Strings (every byte, trailing NULs included) and other non-numbers must be equal."""
    fa, fb = _flat(a), _flat(b)
    count, first = 0, -1
    for i, j in _blocks(fa.size, BLOCK):
        differ = np.asarray(fa[i:j] != fb[i:j], dtype=bool).reshape(-1)
        found = int(np.count_nonzero(differ))
        if found and first < 0:
            first = i + int(np.argmax(differ))
        count += found
    if not count:
        return RecordComparison(passed=True, **base)
    index = tuple(int(i) for i in np.unravel_index(first, a.shape)) if a.ndim else ()
    note = (f"values differ: {count} of {a.size} elements (compared exactly); first at index "
            f"{index_words(index)}: TF1 {_value(fa[first])}, TF2 {_value(fb[first])}")
    return RecordComparison(passed=False, mismatched=count, problem="values", note=note,
                            worst_index=index, **base)


def _value(x: object) -> str:
    text = repr(x.item() if isinstance(x, np.generic) else x)
    return text if len(text) <= 60 else text[:57] + "..."


def _all_one_value(a: np.ndarray, b: np.ndarray, step: int = BLOCK) -> bool:
    """Every element of each side is one value (the flat arrays of a record)."""
    if a.size <= 1:
        return False
    first_a, first_b = a[0], b[0]
    return _every(lambda x, y: np.all(x == first_a) and np.all(y == first_b), a, b, step)


def _nonfinite_note(a: np.ndarray, b: np.ndarray, step: int) -> str:
    def kind(x: np.ndarray) -> tuple[bool, str]:
        nan = inf = False
        count = 0
        for i, j in _blocks(x.size, step):
            block = x[i:j]
            nan = nan or bool(np.isnan(block).any())
            inf = inf or bool(np.isinf(block).any())
            count += int(np.count_nonzero(~np.isfinite(block)))
        kinds = [k for k, m in (("NaN", nan), ("inf", inf)) if m]
        return count > 0, "/".join(kinds) + f" in {count} of {x.size} elements"

    (bad_a, words_a), (bad_b, words_b) = kind(a), kind(b)
    if bad_a and bad_b:
        return f"non-finite on both sides (TF1: {words_a}; TF2: {words_b})"
    side, words = ("TF1", words_a) if bad_a else ("TF2", words_b)
    return f"non-finite on {side} only ({words}); the other side is finite"


ToleranceFn = Callable[[str], "tuple[float, float]"]


def compare_records(check: str, tf1: Mapping[str, np.ndarray], tf2: Mapping[str, np.ndarray],
                    tolerance: ToleranceFn, order: Optional[Sequence[str]] = None,
                    dtypes: tuple[Mapping[str, str], Mapping[str, str]] = ({}, {})) -> Outcome:
    """Compare two record sets in forward order (`order`, else TF1's); report the first divergence.
    `dtypes`: each side's {record: format} for records upcast from a narrow float format."""
    listed = dict.fromkeys(order or ())      # a dict: thousands of records, each looked up
    names = [n for n in (order or tf1) if n in tf1] + [n for n in tf1 if order and n not in listed]
    only1 = [n for n in names if n not in tf2]
    only2 = [n for n in tf2 if n not in tf1]
    results = tuple(compare_arrays(n, tf1[n], tf2[n], *tolerance(n),
                                   dtypes=(dtypes[0].get(n, ""), dtypes[1].get(n, "")))
                    for n in names if n in tf2)
    warnings = _weak_warning(results)
    structure = _structure_note(only1, only2)
    failing = [r for r in results if not r]
    if not failing and not structure:
        words = f"{len(results)} records match"
        return Outcome("passed", f"{check}: {words}", records=results, warnings=warnings,
                       words=words)
    detail = table(results)
    if structure:
        words = structure
        if failing:
            words += f"; and {len(failing)} common records differ, first {failing[0].name}"
        return Outcome("failed", f"{check}: {words}", detail=detail, records=results,
                       warnings=warnings, cause="structure", words=words)
    first = failing[0]
    before = results.index(first)
    more = f" (+{len(failing) - 1} more records differ)" if len(failing) > 1 else ""
    if first.problem == "nonfinite":
        statement = (f"vacuous: {first.name} is {first.note}; {before} of {len(results)} "
                     f"records were finite and equal before it in forward order{more}")
        hint = ("a comparison of non-finite values proves nothing; fix the overflow or compare "
                "with real weights (transferred_inference)")
        words = compose(statement, hint=hint)
        return Outcome("failed", f"{check}: {words}", detail=detail, records=results,
                       warnings=warnings, cause="vacuous", statement=statement, hint=hint,
                       words=words)
    words = f"first divergence in forward order: {first.summary()}{more}"
    # Another shape or dtype is a structure no variation of the numerics changes.
    return Outcome("failed", f"{check}: {words}", detail=detail, records=results,
                   warnings=warnings, words=words,
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
