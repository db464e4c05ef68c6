"""Initializers and a dropout given op seeds by hand: DeterministicRandomTestTool replaces them in
num_random_ops mode (a graph seeded by tf.compat.v1.set_random_seed alone keeps them)."""
import numpy as np
import tensorflow as tf

import tf_equiv


def tf1_forward(features, training):
    with tf.compat.v1.variable_scope("seeded"):
        net = tf.compat.v1.layers.dense(
            features, 8, activation=tf.nn.relu, name="hidden",
            kernel_initializer=tf.compat.v1.glorot_uniform_initializer(seed=7))
        net = tf.compat.v1.layers.dropout(net, rate=0.5, training=training, seed=3)
        return tf.compat.v1.layers.dense(
            net, 3, name="logits", kernel_initializer=tf.compat.v1.random_normal_initializer(seed=11))


class Seeded(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, features, training=None):
        return tf1_forward(features, bool(training))


seeded = tf_equiv.Pair(
    tf1=tf1_forward, tf2=Seeded,
    inputs=lambda: np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32),
)
