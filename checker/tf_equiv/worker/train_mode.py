"""How the TF2 side runs `gradients` and `optimizer_steps` for a ModelFn pair: like with like.

The TF1 side of those checks is the model_fn's TRAIN graph (`spec.loss`, `spec.train_op`: batch
statistics in batch normalization, dropout on), so the TF2 model is called with `training=True`,
its random ops lined up with the TF1 graph's as a training run lines them up
(training.AlignedSeeds): the i-th random op of a forward pass seeded (SEED, FIRST_OP_SEED + i) on
both sides. Each check starts the streams afresh, as the TF1 side's fresh session does: the k-th
forward pass of the check (the k-th optimizer step) draws the k-th sample on both sides. A pair
whose TF1 side is a forward function keeps comparing its inference mode (`training=False`)."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional

import tensorflow as tf

from tf_equiv.worker import model_fn, training
from tf_equiv.worker.config import SEED


def training_on(pair: Any) -> bool:
    """Whether the TF2 model is called in training mode by `gradients` and `optimizer_steps`."""
    return model_fn.is_model_fn(pair)


class Passes:
    """The forward passes of one check: `next()` before each, so that its random ops draw the
    sample the TF1 side's run of the same number draws."""

    def __init__(self, seeds: Optional[training.AlignedSeeds]) -> None:
        self._seeds = seeds

    def next(self) -> None:
        if self._seeds is not None:
            self._seeds.step()


@contextlib.contextmanager
def aligned(pair: Any) -> Iterator[Passes]:
    """The random ops of the forward passes inside seeded by rank, for a ModelFn pair (nothing
    changes for the others). tf.random.set_seed clears the eager kernels, which keep their
    stream per seed: the check starts at the first sample, and leaves none advanced behind it."""
    if not training_on(pair):
        yield Passes(None)
        return
    tf.random.set_seed(SEED)
    try:
        with training.AlignedSeeds().scope() as seeds:
            yield Passes(seeds)
    finally:
        tf.random.set_seed(SEED)
