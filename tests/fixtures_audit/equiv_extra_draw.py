"""The migrated code draws one more random number (a left-over jitter of zero scale): no value
changes, but in num_random_ops mode every later op seed shifts."""
import tensorflow as tf

import tf_equiv
from _models import inputs, mlp, shim


def jittered(features, training):
    features += tf.random.normal(tf.shape(features), stddev=0.0, name="jitter")
    return mlp(features, training)


extra_draw = tf_equiv.Pair(tf1=mlp, tf2=shim(jittered), inputs=inputs,
                           checks=["random_*", "transferred_inference"])
