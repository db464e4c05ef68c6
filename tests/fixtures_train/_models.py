"""A small TF1.x model trained for real: dense, batch norm, dropout and L2, and its migration."""
import numpy as np
import tensorflow as tf

L2 = 1e-3


def net(features, training, *, bn_momentum=0.99, rate=0.2, weight_decay=L2):
    """Two hidden layers, written with tf.compat.v1.layers as a TF1 training script would."""
    l2 = tf.compat.v1.keras.regularizers.l2(weight_decay) if weight_decay else None
    init = tf.compat.v1.glorot_uniform_initializer()
    with tf.compat.v1.variable_scope("net"):
        hidden = tf.compat.v1.layers.dense(features, 16, name="hidden", kernel_initializer=init,
                                           kernel_regularizer=l2)
        hidden = tf.compat.v1.layers.batch_normalization(hidden, momentum=bn_momentum,
                                                         training=training, name="bn")
        hidden = tf.nn.relu(hidden)
        hidden = tf.compat.v1.layers.dropout(hidden, rate=rate, training=training)
        logits = tf.compat.v1.layers.dense(hidden, 3, name="logits", kernel_initializer=init,
                                           kernel_regularizer=l2)
    return logits


def shim(forward, extra_l2=False, **options):
    """The migration guide's first step: the forward pass inside track_tf1_style_variables;
    `extra_l2` adds the kernels' L2 a second time, as a migration that also calls add_loss does."""

    class Migrated(tf.keras.layers.Layer):
        @tf.compat.v1.keras.utils.track_tf1_style_variables
        def call(self, features, training=None):
            out = forward(features, bool(training), **options)
            if extra_l2:
                for v in self.trainable_weights:
                    if "kernel" in v.name:
                        self.add_loss(L2 * tf.reduce_sum(tf.square(v)))
            return out

    return Migrated


def inputs():
    return np.random.default_rng(0).normal(size=(16, 8)).astype(np.float32)


def batches():
    """A fixed dataset of 12 batches (the factory is called again for another epoch)."""
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(3, 8)).astype(np.float32)
    for _ in range(12):
        labels = rng.integers(0, 3, size=16)
        yield (centers[labels] + rng.normal(scale=0.7, size=(16, 8))).astype(np.float32)


def loss(logits):
    """A cross-entropy against labels fixed by the logits' own argmax-free rule: the first
    class, so that the loss keeps falling over the run."""
    labels = tf.zeros(tf.shape(logits)[:1], dtype=tf.int32)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))
