"""The classifier of equiv_mlp.py migrated all the way to native Keras layers, as the model-mapping
guide's last step does: plain tf.keras.layers with auto-generated names (`dense`, `dense_1`, ...),
a name_map that says which TF1 variable each one is, and training with a decaying learning rate
(a TF1 schedule on the global step against a Keras schedule on `optimizer.iterations`): three
steps (optimizer_steps), then 60 steps on batches with dropout on (training_run).
"""
import numpy as np
import tensorflow as tf

import tf_equiv

L2 = 1e-3


def tf1_forward(features, training):
    """The legacy TF1.x model: two hidden layers with dropout, L2 on every kernel."""
    l2 = tf.compat.v1.keras.regularizers.l2(L2)
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
    """The TF2 model: native Keras layers, no shim."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        dense = dict(kernel_regularizer=tf.keras.regularizers.L2(L2),
                     # Keras's own GlorotUniform draws with a stateless op, which
                     # DeterministicRandomTestTool cannot align with TF1's draws: while validating,
                     # the TF1 initializer (the same distribution) keeps the random_* checks exact.
                     kernel_initializer=tf.compat.v1.keras.initializers.glorot_uniform())
        self.hidden1 = tf.keras.layers.Dense(32, activation="relu", **dense)
        self.dropout1 = tf.keras.layers.Dropout(0.3)
        self.hidden2 = tf.keras.layers.Dense(16, activation="relu", **dense)
        self.dropout2 = tf.keras.layers.Dropout(0.3)
        self.logits = tf.keras.layers.Dense(10, **dense)

    def call(self, features, training=None):
        net = self.dropout1(self.hidden1(features), training=training)
        net = self.dropout2(self.hidden2(net), training=training)
        logits = self.logits(net)
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}


#: Keras names the layers by creation order (`classifier` is this layer's own auto-generated
#: name); the TF1 code named its scopes.
SCOPES = {"classifier/dense/": "classifier/hidden1/", "classifier/dense_1/": "classifier/hidden2/",
          "classifier/dense_2/": "classifier/logits/"}


def tf1_name(tf2_name):
    for keras_scope, tf1_scope in SCOPES.items():
        if tf2_name.startswith(keras_scope):
            return tf1_scope + tf2_name[len(keras_scope):]
    return tf2_name


def tf1_optimizer():
    # A TF1 schedule reads the global step, which minimize(..., global_step=...) advances.
    rate = tf.compat.v1.train.exponential_decay(
        0.1, tf.compat.v1.train.get_or_create_global_step(), decay_steps=20, decay_rate=0.5)
    # Not MomentumOptimizer against Keras SGD(momentum=...): with a decaying rate they differ (TF1
    # scales the whole accumulator by today's rate, Keras keeps each step's rate in it), and
    # training_run says so from step 2.
    return tf.compat.v1.train.GradientDescentOptimizer(rate)


def tf2_optimizer():
    rate = tf.keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=20, decay_rate=0.5)
    return tf.keras.optimizers.SGD(rate)


def batches():
    """The training data: 12 batches of 8 examples (called again for the next epoch)."""
    rng = np.random.default_rng(1)
    for _ in range(12):
        yield rng.normal(size=(8, 20)).astype(np.float32)


def loss(outputs):
    """Cross-entropy towards class 0: a stand-in for the labels of a real dataset."""
    logits = outputs["logits"]
    labels = tf.zeros(tf.shape(logits)[:1], dtype=tf.int32)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))


mlp_keras = tf_equiv.Pair(
    tf1=tf1_forward,
    tf2=Classifier,
    inputs=lambda: np.random.default_rng(0).normal(size=(8, 20)).astype(np.float32),
    name_map=tf1_name,
    loss=loss,
    optimizers=(tf1_optimizer, tf2_optimizer),
    train=tf_equiv.Train(steps=60, batches=batches, every=10),
)
