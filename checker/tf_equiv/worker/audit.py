"""Randomness audit: the random ops a side creates under DeterministicRandomTestTool.

The tool seeds only the stateful ops that ask tf.random for their seed (`get_seed`). Stateless ops
(tf.random.stateless_*, and every tf.keras initializer, which draws stateless numbers from its own
seed) and `tf.random.Generator` draws never consult it, so the tool cannot align them. An op
callback sees each random op as the TF1 graph creates it and as the eager TF2 model runs it, in the
order the tool hands out op seeds, without a second build of the model.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from types import FrameType
from typing import Any, Iterator, Optional

from tf_equiv.worker.user_code import is_user_file

#: Stateful ops that take their seed from tf.random's get_seed, which the tool replaces.
SEEDED = frozenset({
    "RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal",
    "ParameterizedTruncatedNormal", "RandomShuffle", "Multinomial", "RandomGamma",
    "RandomPoisson", "RandomPoissonV2",
})
#: Ops that prepare a stateless draw (key, counter, algorithm) or are control flow: not draws.
NOT_DRAWS = frozenset({
    "StatelessRandomGetKeyCounter", "StatelessRandomGetKeyCounterAlg", "StatelessRandomGetAlg",
    "RngReadAndSkip", "RngSkip", "StatelessIf", "StatelessWhile", "StatelessCase",
})
UNSEEDED_PREFIXES = ("StatelessRandom", "StatelessTruncatedNormal", "StatelessMultinomial",
                     "StatelessParameterizedTruncatedNormal", "StatelessShuffle",
                     "StatelessSampleDistortedBoundingBox", "StatefulUniform",
                     "StatefulStandardNormal", "StatefulTruncatedNormal", "StatefulRandomBinomial")
UNSEEDED = frozenset({"NonDeterministicInts", "RandomIndexShuffle"})
#: Draws are kept in order up to this many (inception_v3 creates about 100); counts are exact.
MAX_DRAWS = 500

_SEP = os.sep
_GENERATOR_FILE = f"{_SEP}ops{_SEP}stateful_random_ops.py"
_STATELESS_FILE = f"{_SEP}ops{_SEP}stateless_random_ops.py"
_UNKNOWN = object()
_USER_FILES: dict = {}      # file name -> is_user_file(), for the stack walk of every draw


def _text(op_type: Any) -> str:
    return op_type.decode() if isinstance(op_type, bytes) else str(op_type)


def _kind(op_type: str) -> Optional[bool]:
    """True for an op the tool seeds, False for a draw it cannot align, None for any other op."""
    if op_type in SEEDED:
        return True
    if op_type in UNSEEDED or (op_type not in NOT_DRAWS and op_type.startswith(UNSEEDED_PREFIXES)):
        return False
    return None


def _origin(frame: Optional[FrameType]) -> tuple:
    """(what drew the numbers, the innermost user-code line) from the creating Python stack.

    The outermost library caller below the user's code names the draw: a Keras initializer calls
    tf.random.stateless_*, a tf.random.Generator calls the same stateless kernels.
    """
    source, site = "", ""
    while frame is not None and not site:
        path = frame.f_code.co_filename
        user = _USER_FILES.get(path)
        if user is None:
            user = _USER_FILES[path] = is_user_file(path)
        if user:
            site = f"{os.path.basename(path)}:{frame.f_lineno}"
        else:
            source = _source(frame, path) or source
        frame = frame.f_back
    return source, site


def _source(frame: FrameType, path: str) -> str:
    if path.endswith(_GENERATOR_FILE):
        return "tf.random.Generator"
    if "keras" in path and f"{_SEP}initializers{_SEP}" in path:
        owner = frame.f_locals.get("self")
        if owner is not None and not type(owner).__name__.startswith("_"):
            return f"tf.keras.initializers.{type(owner).__name__}"
    if path.endswith(_STATELESS_FILE):
        return "tf.random.stateless_*"
    return ""


def _shape(outputs: Any) -> Optional[list]:
    try:
        return outputs[0].shape.as_list()
    except (IndexError, AttributeError, TypeError, ValueError):   # unknown rank, no outputs
        return None


class RandomOps:
    """An op callback that keeps every random draw, in creation (graph) or execution (eager) order:
    the order in which the tool hands out op seeds."""

    def __init__(self) -> None:
        self.draws: list = []       # {type, name, shape, site, seeded, source}
        self.count = 0
        self.unseeded = 0
        self.broken = ""
        # Called for every op the model runs: one dict lookup decides, per op type (eager passes
        # bytes, graph construction str).
        self._kinds: dict = {}

    def __call__(self, op_type: Any, inputs: Any, attrs: Any, outputs: Any,
                 op_name: Optional[str] = None, graph: Any = None) -> None:
        seeded = self._kinds.get(op_type, _UNKNOWN)
        if seeded is _UNKNOWN:
            seeded = self._kinds[op_type] = _kind(_text(op_type))
        if seeded is None or self.broken:
            return None
        try:
            self._record(_text(op_type), seeded, outputs, op_name)
        except Exception as exc:  # never let the audit break the user's op: stop auditing instead
            self.broken = f"{type(exc).__name__}: {exc}"
        return None

    def _record(self, op_type: str, seeded: bool, outputs: Any, op_name: Optional[str]) -> None:
        self.count += 1
        self.unseeded += not seeded
        if len(self.draws) >= MAX_DRAWS:
            return
        name = op_name.rsplit("/", 1)[0] if op_name and "/" in op_name else op_name
        if not name:            # eager ops have no name: the name scope says where
            from tensorflow.python.eager import context
            name = context.context().scope_name.rstrip("/")
        source, site = _origin(sys._getframe(2))
        self.draws.append({"type": op_type, "name": name, "shape": _shape(outputs), "site": site,
                           "seeded": seeded, "source": "" if seeded else source})

    def to_json(self) -> dict:
        """The check's `random_ops` metadata."""
        out = {"draws": self.draws, "count": self.count, "unseeded": self.unseeded}
        if self.broken:
            out["broken"] = self.broken
        return out


@contextmanager
def recording() -> Iterator[Optional[RandomOps]]:
    """Record the random ops created or run inside; yields None where TensorFlow has no op
    callbacks (the audit is then absent, the check unchanged)."""
    try:
        from tensorflow.python.framework import op_callbacks
    except ImportError:
        yield None
        return
    ops = RandomOps()
    op_callbacks.add_op_callback(ops)
    try:
        yield ops
    finally:
        op_callbacks.remove_op_callback(ops)


def meta(ops: Optional[RandomOps]) -> dict:
    return {"random_ops": ops.to_json()} if ops is not None else {}
