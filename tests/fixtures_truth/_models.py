"""A small TF1.x model the fixtures migrate, each with one defect."""
import numpy as np
import tensorflow as tf


def mlp(features, training, *, scope="encoder", rate=0.3, regularize=True, initializer=None):
    """Two dense layers with dropout and L2, written with tf.compat.v1.layers."""
    l2 = tf.compat.v1.keras.regularizers.l2(1e-3) if regularize else None
    init = initializer or tf.compat.v1.glorot_uniform_initializer()
    with tf.compat.v1.variable_scope(scope):
        hidden = tf.compat.v1.layers.dense(features, 16, activation=tf.nn.relu, name="hidden",
                                           kernel_initializer=init, kernel_regularizer=l2)
        dropped = tf.compat.v1.layers.dropout(hidden, rate=rate, training=training)
        logits = tf.compat.v1.layers.dense(dropped, 4, name="logits", kernel_initializer=init,
                                           kernel_regularizer=l2)
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
