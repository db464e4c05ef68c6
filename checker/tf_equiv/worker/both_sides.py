"""TensorFlow helpers both sides call alike (the default loss, a variable's spec), so that both
compute the same objective and describe their variables the same way."""
from __future__ import annotations

from typing import Any

import tensorflow as tf

from tf_equiv.worker.nested import flatten, map_nested
from tf_equiv.worker.user_code import call_user


def default_loss(outputs: Any) -> Any:
    """The sum of every floating output: the objective when the Pair gives no `loss`."""
    terms = [tf.reduce_sum(tf.cast(t, tf.float32)) for _, t in flatten(outputs)
             if tf.is_tensor(t) and t.dtype.is_floating]
    return tf.add_n(terms) if terms else tf.constant(0.0)


def pair_loss(pair: Any, outputs: Any, labels: Any = None) -> Any:
    """The pair's objective on the TF2 side: `loss(outputs)`, `loss(labels, outputs)` with
    tf1=ModelFn (the labels its model_fn gets, in Keras's order: a training run's batch's, else
    the pair's), or the default loss."""
    from tf_equiv.worker import model_fn

    if model_fn.is_model_fn(pair):
        if labels is None:
            labels = map_nested(model_fn.labels(pair), tf.constant)
        return call_user("loss(labels, outputs)", pair.loss, labels, outputs)
    return call_user("loss(outputs)", pair.loss, outputs) if pair.loss else default_loss(outputs)


def variable_spec(v: Any, name: str, tf2_name: str | None = None) -> dict:
    spec = {"name": name, "shape": [int(d) if d is not None else -1 for d in v.shape.as_list()],
            "dtype": v.dtype.base_dtype.name, "trainable": bool(v.trainable)}
    if tf2_name is not None:
        spec["tf2_name"] = tf2_name
    return spec
