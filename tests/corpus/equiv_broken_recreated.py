"""Broken: the validate_correctness guide's own `BrokenScalingLayer`, which creates new weights on
every call (tf.Variable inside the decorated call, with no check that they exist).

Source: tensorflow/docs site/en/guide/migrate/validate_correctness.ipynb, Step 1.
"""
import numpy as np
import tensorflow as tf

import tf_equiv


def scaling(inputs, training):
    var = tf.Variable(initial_value=2.0)
    bias = tf.Variable(initial_value=2.0, name="bias")
    return inputs * var + bias


class BrokenScalingLayer(tf.keras.layers.Layer):
    """Scaling layer that incorrectly creates new weights each time."""

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs):
        var = tf.Variable(initial_value=2.0)
        bias = tf.Variable(initial_value=2.0, name="bias")
        return inputs * var + bias


broken_scaling = tf_equiv.Pair(
    tf1=scaling,
    tf2=BrokenScalingLayer,
    inputs=lambda: np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype(np.float32),
    name_map=lambda name: name.replace("broken_scaling_layer/", ""),
)
