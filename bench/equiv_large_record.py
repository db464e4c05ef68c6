"""One large output: RECORD_MB megabytes of float32 (default 300), from a small dense layer tiled.
With RECORD_FAIL=1 the migration adds 1 to it: every element differs. Only
constant_inference runs: the memory measured is the checker's own, comparing one large record."""
import os

import numpy as np
import tensorflow as tf

import tf_equiv

ELEMENTS = int(float(os.environ.get("RECORD_MB", "300")) * 2 ** 20) // 4 // 1000 * 1000
FAIL = os.environ.get("RECORD_FAIL", "0") == "1"


def _large(features, scale):
    hidden = tf.compat.v1.layers.dense(features, 1000, name="hidden")       # (1, 1000)
    out = tf.tile(hidden, [ELEMENTS // 1000, 1])
    return out + 1.0 if scale else out


def tf1_forward(features, training):
    return _large(features, False)


class Large(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, features, training=None):
        return _large(features, FAIL)


def inputs():
    return np.random.default_rng(0).normal(size=(1, 8)).astype(np.float32)


large = tf_equiv.Pair(tf1=tf1_forward, tf2=Large, inputs=inputs, checks=["constant_inference"])
