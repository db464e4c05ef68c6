"""A small TF1.x dense layer and its migration through the modeling shim."""
import numpy as np
import tensorflow as tf


def dense(features, training):
    return tf.compat.v1.layers.dense(features, 3, name="fc")


class Dense(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, features, training=None):
        return dense(features, bool(training))


def inputs():
    return np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
