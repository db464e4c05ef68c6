"""TensorFlow helpers both sides use the same way, so that both compute the same objective."""
from __future__ import annotations

from typing import Any, Iterator

import tensorflow as tf

from tf_equiv.worker.common import flatten

#: check id -> (training, DeterministicRandomTestTool mode)
RANDOM_CHECKS = {
    "random_inference[num_random_ops]": (False, "num_random_ops"),
    "random_inference[constant]": (False, "constant"),
    "random_training[num_random_ops]": (True, "num_random_ops"),
    "random_training[constant]": (True, "constant"),
}

#: Slot kinds kept as each optimizer names them: TF1 Momentum's "momentum" (the accumulator) and
#: Keras SGD's "m" (-learning_rate x accumulator) are different quantities; Adam's m and v agree.
SLOT_KINDS: dict = {}


def random_regimes(wanted: list) -> Iterator[tuple]:
    """(check, training, mode) for each random regime the TF1 side must run.

    functional_training[constant] is compared with the TF1 random_training[constant] run.
    """
    for check, (training, mode) in RANDOM_CHECKS.items():
        if check in wanted or (check == "random_training[constant]"
                               and "functional_training[constant]" in wanted):
            yield check, training, mode


def default_loss(outputs: Any) -> Any:
    """The sum of every floating output: the objective when the Pair gives no `loss`."""
    terms = [tf.reduce_sum(tf.cast(t, tf.float32)) for _, t in flatten(outputs)
             if tf.is_tensor(t) and t.dtype.is_floating]
    return tf.add_n(terms) if terms else tf.constant(0.0)


def variable_spec(v: Any, name: str, tf2_name: str | None = None) -> dict:
    spec = {"name": name, "shape": [int(d) if d is not None else -1 for d in v.shape.as_list()],
            "dtype": v.dtype.base_dtype.name, "trainable": bool(v.trainable)}
    if tf2_name is not None:
        spec["tf2_name"] = tf2_name
    return spec
