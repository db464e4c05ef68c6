"""What both sides of a `training_run` share: the batches (drawn once, on the TF1 side), the
random numbers of each step lined up between a TF1 graph and TF2, and the step clock.

Random numbers. `DeterministicRandomTestTool` seeds ops by creation order, which lines up one
forward pass but not a training loop: a TF1 graph creates its dropout op once and draws a new
mask from it at every `session.run`, while eager TF2 creates the op anew at every call. Here the
i-th random op of a forward pass (not counting variable initializers, which draw as they would
anyway) is seeded (SEED, FIRST_OP_SEED + i) on both sides, and the global seed is never reset
during the run: the TF1 op draws the k-th sample of its stream at the k-th step, and so does the
op of the TF2 step traced once by tf.function (and an eager op, whose kernel TensorFlow keeps per
seed and advances at each call: the optimizer steps and the step-wise run are eager). Masks then agree at
every step as long as each step runs the forward pass once (TF1: the loss and the train op in one
`session.run`) and the random ops are created in the same order on both sides.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Iterator, Optional

import numpy as np
import tensorflow as tf

from tf_equiv.run.records import save_stream
from tf_equiv.worker.config import SEED
from tf_equiv.worker.nested import flatten, map_nested
from tf_equiv.worker.user_code import UserError, call_user

#: How the TF1 side measures the noise of a training run: its second run, in the words of the report.
NOISE = ("the TF1 run again, each batch and, after each step, every variable and optimizer slot "
         "moved by one ulp at random")
#: Far from the op seeds DeterministicRandomTestTool hands out in the same process (0, 1, ...),
#: whose eager kernels TensorFlow keeps.
FIRST_OP_SEED = 1_000_000


class AlignedSeeds:
    """Seeds each random op of a forward pass by its rank in the pass; `step()` starts a pass."""

    def __init__(self) -> None:
        self.rank = 0
        self._creating = 0

    @contextlib.contextmanager
    def scope(self) -> Iterator["AlignedSeeds"]:
        module = sys.modules[tf.compat.v1.get_seed.__module__]
        original: Callable[[Any], tuple] = module.get_seed

        def get_seed(op_seed: Any) -> tuple:
            if self._creating:
                return original(op_seed)
            rank, self.rank = self.rank, self.rank + 1
            return SEED, FIRST_OP_SEED + rank

        def creating(next_creator: Callable[..., Any], **kwargs: Any) -> Any:
            self._creating += 1
            try:
                return next_creator(**kwargs)
            finally:
                self._creating -= 1

        with tf.compat.v1.test.mock.patch.object(module, "get_seed", get_seed), \
                tf.variable_creator_scope(creating):
            yield self

    def step(self) -> None:
        """The next forward pass: its random ops are seeded from the first rank again."""
        self.rank = 0


def draw_batches(train: Any, inputs: Any, path: str, labels: Any = None) -> str:
    """Call `train.batches` (numpy's global seed set first) for `train.steps` batches, check each
    is shaped like the inputs (with `labels`, a ModelFn's: each batch `(features, labels)`, as an
    input_fn's dataset gives them), and write them to `path` as `<step>/<input>` and
    `<step>/<label>` records, one batch in memory at a time. Call it eagerly: a dataset iterates
    only so. A UserError names the step and the input that is wrong."""
    expected = {name: (a.shape, a.dtype) for name, a in batch_leaves(inputs, labels)}
    what = "inputs" if labels is None else "inputs and labels"

    def batches() -> Iterator[tuple[str, np.ndarray]]:
        np.random.seed(SEED)
        source: Optional[Iterator[Any]] = None
        for step in range(1, train.steps + 1):
            if train.batches is None:
                batch: Any = inputs if labels is None else (inputs, labels)
            else:
                batch = _next(source) if source is not None else None
                if batch is None:               # first call, or the iterable ran out: an epoch
                    source = iter(call_user("train.batches()", train.batches))
                    batch = _next(source)
                    if batch is None:
                        raise UserError("train.batches() returned no batch")
                if labels is not None and not (isinstance(batch, (tuple, list))
                                               and len(batch) == 2):
                    raise UserError(f"train.batches: batch {step} is {type(batch).__name__}, "
                                    "not (features, labels): with tf1=ModelFn each batch is "
                                    "(features, labels), as an input_fn's dataset gives them")
            arrays = dict(batch_leaves(*_split(map_nested(batch, np.asarray), labels)))
            if list(arrays) != list(expected):
                raise UserError(f"train.batches: batch {step} has the {what} "
                                f"{', '.join(arrays) or 'none'}, the pair's {what} are "
                                f"{', '.join(expected)}")
            for name, array in arrays.items():
                shape, dtype = expected[name]
                if array.shape != shape or array.dtype != dtype:
                    raise UserError(f"train.batches: batch {step} has {name} of shape "
                                    f"{array.shape} {array.dtype}, the pair's {what} "
                                    f"{shape} {dtype} (every batch is shaped like the {what})")
                yield f"{step}/{name}", array

    kept = np.random.get_state()        # the build after it sees numpy as it would without it
    try:
        return save_stream(path, batches())
    finally:
        np.random.set_state(kept)


def _split(batch: Any, labels: Any) -> tuple[Any, Any]:
    return (batch, None) if labels is None else (batch[0], batch[1])


def batch_leaves(features: Any, labels: Any = None) -> list[tuple[str, Any]]:
    """A batch's leaves by record name: its features as `inputs...`, its labels (a ModelFn
    pair's) as `labels...`; in the order both sides feed them."""
    return list(flatten(features, "inputs")) + \
        (list(flatten(labels, "labels")) if labels is not None else [])


def _next(source: Iterator[Any]) -> Any:
    try:
        return next(source)
    except StopIteration:
        return None


def read_batch(z: Any, step: int, inputs: Any, labels: Any = None) -> tuple[Any, Any]:
    """Batch `step` from the open batches file: its features in the structure of the inputs, and
    its labels in that of `labels` (None for a pair without labels)."""
    def read(value: Any, prefix: str) -> Any:
        leaves = iter([z[f"{step}/{name}"] for name, _ in flatten(value, prefix)])
        return map_nested(value, lambda _: next(leaves))

    return read(inputs, "inputs"), None if labels is None else read(labels, "labels")


def nudged(batch: tuple[Any, Any], rng: np.random.Generator) -> tuple[Any, Any]:
    """A batch with every element moved by one ulp at random (training.NOISE), labels too."""
    features, labels = batch
    return (map_nested(features, lambda a: one_ulp(a, rng)),
            None if labels is None else map_nested(labels, lambda a: one_ulp(a, rng)))


def recorded(step: int, train: Any) -> bool:
    """Variables and slots are recorded every `every` steps and after the last one."""
    return step % train.every == 0 or step == train.steps


def one_ulp(value: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`value` moved by one unit in the last place, up or down at random per element: the size
    of the round-off a different summation order leaves in a step."""
    if value.dtype.kind != "f":
        return value
    sign = rng.choice(np.array([-1, 1], dtype=value.dtype), size=value.shape)
    return (value + sign * np.spacing(np.abs(value).astype(value.dtype))).astype(value.dtype)
