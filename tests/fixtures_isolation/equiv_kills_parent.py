"""A module that kills the process that runs it, at import: `os.getppid()` in a worker."""
import os
import signal

import numpy as np
import tensorflow as tf

import tf_equiv

os.kill(os.getppid(), signal.SIGKILL)


def tf1_dense(features, training):
    return tf.compat.v1.layers.dense(features, 4, name="dense")


class Dense(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, features, training=None):
        return tf1_dense(features, bool(training))


kills_parent = tf_equiv.Pair(tf1=tf1_dense, tf2=Dense,
                             inputs=lambda: np.ones((2, 3), np.float32),
                             checks=["variables_match", "transferred_inference"])
