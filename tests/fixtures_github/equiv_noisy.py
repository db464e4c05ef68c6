"""A migrated model that prints workflow commands, then diverges: none of them may take effect."""
import numpy as np
import tensorflow as tf

import tf_equiv


def dense(features, training):
    with tf.compat.v1.variable_scope("net"):
        return tf.compat.v1.layers.dense(
            features, 3, name="out", kernel_initializer=tf.compat.v1.glorot_uniform_initializer())


def noisy(features, training):
    print("::set-output name=total::999")
    print("::error file=evil.py,title=injected::from the model")
    print("::add-mask::secret")
    return dense(features, training) * 1.5


class Migrated(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, features, training=None):
        return noisy(features, bool(training))


def inputs():
    return np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)


noisy_pair = tf_equiv.Pair(tf1=dense, tf2=Migrated, inputs=inputs,
                           checks=["transferred_inference"])


def noisy_then_crash(features, training):
    print("::set-output name=failed::0")
    print("::warning::from the model")
    raise ValueError("boom\n::error::from the exception message")


class Crashing(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, features, training=None):
        return noisy_then_crash(features, bool(training))


crash_pair = tf_equiv.Pair(tf1=dense, tf2=Crashing, inputs=inputs,
                           checks=["transferred_inference"])
