"""A dense layer and the shim, for the explanation fixtures."""
import numpy as np
import tensorflow as tf


def dense(features, training):
    with tf.compat.v1.variable_scope("net"):
        return tf.compat.v1.layers.dense(
            features, 3, name="out", kernel_initializer=tf.compat.v1.glorot_uniform_initializer())


def shim(forward):
    class Migrated(tf.keras.layers.Layer):
        @tf.compat.v1.keras.utils.track_tf1_style_variables
        def call(self, features, training=None):
            return forward(features, bool(training))

    return Migrated


def inputs():
    return np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
