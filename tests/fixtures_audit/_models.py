"""A small TF1.x model the audit fixtures migrate (a copy: the worker imports from this folder)."""
import numpy as np
import tensorflow as tf


def mlp(features, training, *, initializer=None):
    """Two dense layers with dropout, written with tf.compat.v1.layers."""
    init = initializer or tf.compat.v1.glorot_uniform_initializer()
    with tf.compat.v1.variable_scope("encoder"):
        hidden = tf.compat.v1.layers.dense(features, 16, activation=tf.nn.relu, name="hidden",
                                           kernel_initializer=init)
        dropped = tf.compat.v1.layers.dropout(hidden, rate=0.3, training=training)
        logits = tf.compat.v1.layers.dense(dropped, 4, name="logits", kernel_initializer=init)
    return {"hidden": hidden, "logits": logits}


def shim(forward):
    """The migration guide's first step: the forward pass inside track_tf1_style_variables."""

    class Migrated(tf.keras.layers.Layer):
        @tf.compat.v1.keras.utils.track_tf1_style_variables
        def call(self, features, training=None):
            return forward(features, bool(training))

    return Migrated


def inputs():
    return np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
