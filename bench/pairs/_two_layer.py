"""A 2-layer tf.compat.v1.layers model and its shim migration: the smallest realistic pair."""
import numpy as np
import tensorflow as tf


def tf1_forward(features, training):
    init = tf.compat.v1.glorot_uniform_initializer()
    hidden = tf.compat.v1.layers.dense(features, 16, activation=tf.nn.relu, name="hidden",
                                       kernel_initializer=init)
    return tf.compat.v1.layers.dense(hidden, 4, name="logits", kernel_initializer=init)


class TwoLayer(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, features, training=None):
        return tf1_forward(features, bool(training))


def inputs():
    return np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
