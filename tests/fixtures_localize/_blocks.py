"""A small TF1.x convolutional network in three named blocks, and its shim migration."""
import numpy as np
import tensorflow as tf


def net(images, training, *, epsilon=1e-6, alpha=0.2):
    """block1: conv and RMS normalization over the feature map (`epsilon`); block2: conv and
    leaky ReLU (`alpha`), whose large weights scale activations up; block3: the classifier."""
    del training
    dense, conv = tf.compat.v1.layers.dense, tf.compat.v1.layers.conv2d
    with tf.compat.v1.variable_scope("net"):
        with tf.compat.v1.variable_scope("block1"):
            h = conv(images, 8, 3, padding="same", name="conv",
                     kernel_initializer=tf.compat.v1.random_normal_initializer(stddev=0.2))
            mean_square = tf.reduce_mean(tf.square(h))
            h = h * tf.math.rsqrt(mean_square + epsilon)
        with tf.compat.v1.variable_scope("block2"):
            h = conv(h, 16, 3, padding="same", name="conv",
                     kernel_initializer=tf.compat.v1.random_normal_initializer(stddev=10.0))
            h = tf.nn.leaky_relu(h, alpha=alpha)
        with tf.compat.v1.variable_scope("block3"):
            h = tf.reduce_mean(h, axis=[1, 2])
            # An explicit initializer: dense's default one ignores the graph seed, and the
            # fixture's numbers are meant to be the same on every run.
            logits = dense(h, 4, name="logits",
                           kernel_initializer=tf.compat.v1.glorot_uniform_initializer())
    return {"logits": logits}


def shim(forward):
    """The migration guide's first step: the forward pass inside track_tf1_style_variables."""

    class Migrated(tf.keras.layers.Layer):
        @tf.compat.v1.keras.utils.track_tf1_style_variables
        def call(self, images, training=None):
            return forward(images, bool(training))

    return Migrated


def inputs():
    return np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
