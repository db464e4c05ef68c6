"""A small hand-written tf.compat.v1.layers classifier with dropout and L2 regularizers.

The TF1 code is the forward pass a TF1.x training script would build; the TF2 migration wraps the
same code in the modeling shim, as the migration guide's first step does. Both are then trained
for 100 Adam steps on the same batches (training_run), dropout on.
"""
import numpy as np
import tensorflow as tf

import tf_equiv


def tf1_forward(features, training):
    """The legacy TF1.x model: two hidden layers with dropout, L2 on every kernel."""
    l2 = tf.compat.v1.keras.regularizers.l2(1e-3)
    # Explicit initializers: the default one of tf.compat.v1.layers.dense draws random numbers that
    # DeterministicRandomTestTool cannot align (tf-equiv names it if you drop these).
    init = tf.compat.v1.glorot_uniform_initializer()
    with tf.compat.v1.variable_scope("classifier"):
        net = tf.compat.v1.layers.dense(features, 32, activation=tf.nn.relu, name="hidden1",
                                        kernel_initializer=init, kernel_regularizer=l2)
        net = tf.compat.v1.layers.dropout(net, rate=0.3, training=training)
        net = tf.compat.v1.layers.dense(net, 16, activation=tf.nn.relu, name="hidden2",
                                        kernel_initializer=init, kernel_regularizer=l2)
        net = tf.compat.v1.layers.dropout(net, rate=0.3, training=training)
        logits = tf.compat.v1.layers.dense(net, 10, name="logits", kernel_initializer=init,
                                           kernel_regularizer=l2)
    return {"logits": logits, "probabilities": tf.nn.softmax(logits)}


class Classifier(tf.keras.layers.Layer):
    """The TF2 migration: the same forward pass inside the modeling shim."""

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, features, training=None):
        return tf1_forward(features, training=bool(training))


def batches():
    """The training data: 16 batches of 8 examples (called again for the next epoch)."""
    rng = np.random.default_rng(1)
    for _ in range(16):
        yield rng.normal(size=(8, 20)).astype(np.float32)


def loss(outputs):
    """Cross-entropy towards class 0: a stand-in for the labels of a real dataset."""
    logits = outputs["logits"]
    labels = tf.zeros(tf.shape(logits)[:1], dtype=tf.int32)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))


def tf1_optimizer():
    return tf.compat.v1.train.AdamOptimizer(1e-3)


def tf2_optimizer():
    # TF1's AdamOptimizer defaults to epsilon=1e-8, Keras's Adam to 1e-7: a migration keeps 1e-8.
    return tf.keras.optimizers.Adam(1e-3, epsilon=1e-8)


mlp = tf_equiv.Pair(
    tf1=tf1_forward,
    tf2=Classifier,
    inputs=lambda: np.random.default_rng(0).normal(size=(8, 20)).astype(np.float32),
    loss=loss,
    optimizers=(tf1_optimizer, tf2_optimizer),
    train=tf_equiv.Train(steps=100, batches=batches, every=10),
)
