"""The benchmark pair: tf_slim's Inception V3 at its native 299x299 input, every default check.

`TF_EQUIV_BENCH_SIZE` overrides the input size (height and width), e.g. 128 for a quick run.
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
import tf_slim as slim
from tf_slim.nets import inception_v3

import tf_equiv

SIZE = int(os.environ.get("TF_EQUIV_BENCH_SIZE", "299"))


def tf1_forward(images, training):
    """The legacy forward pass: (logits, end_points)."""
    with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
        return inception_v3.inception_v3(images, num_classes=1000, is_training=training)


class InceptionV3(tf.keras.layers.Layer):
    """The same forward pass inside the modeling shim."""

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, images, training=None):
        return tf1_forward(images, bool(training))


def bench_inputs() -> np.ndarray:
    """One image of SIZE x SIZE x 3, uniform in [-1, 1)."""
    return np.random.default_rng(0).uniform(-1, 1, (1, SIZE, SIZE, 3)).astype(np.float32)


inception = tf_equiv.Pair(
    tf1=tf1_forward,
    tf2=InceptionV3,
    inputs=bench_inputs,
    loss=lambda outputs: tf.reduce_mean(outputs[0]),
    # Gradients flow through 94 convolutions in float32, where the graph side's fused kernels and
    # the eager side's order of sums differ by ~1e-4.
    tolerances={"gradients/*": (1e-3, 1e-5)},
    # The ten checks bench/baseline_guide.py also does by hand (everything but tf_function).
    checks=["variables_*", "constant_inference", "transferred_inference", "random_*",
            "functional_*", "gradients"],
)
