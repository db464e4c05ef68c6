"""A dense classifier `model_fn` with dropout (`tf.compat.v1.layers.dropout`, on in TRAIN mode
only) and its Keras migration. Shared by equiv_estimator_dropout.py (correct) and
equiv_broken_estimator_dropout.py (the rate changed).
"""
import numpy as np
import tensorflow as tf

RATE = 0.25
LEARNING_RATE = 0.01
CLASSES = 3


def features():
    return np.random.default_rng(2).normal(size=(6, 5)).astype(np.float32)


def labels():
    return np.array([0, 2, 1, 1, 0, 2], np.int32)


def model_fn(features, labels, mode, params):
    """The legacy TF1.x model: a hidden layer, dropout in TRAIN mode, the logits."""
    training = mode == tf.compat.v1.estimator.ModeKeys.TRAIN
    init = tf.compat.v1.glorot_uniform_initializer()
    net = tf.compat.v1.layers.dense(features, 16, tf.nn.relu, kernel_initializer=init)
    net = tf.compat.v1.layers.dropout(net, rate=params["rate"], training=training)
    logits = tf.compat.v1.layers.dense(net, CLASSES, kernel_initializer=init)
    if not training:
        return tf.compat.v1.estimator.EstimatorSpec(mode, predictions={"logits": logits})
    loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    optimizer = tf.compat.v1.train.AdamOptimizer(LEARNING_RATE)
    train_op = optimizer.minimize(loss, global_step=tf.compat.v1.train.get_global_step())
    return tf.compat.v1.estimator.EstimatorSpec(mode, predictions={"logits": logits}, loss=loss,
                                                train_op=train_op)


class DropoutClassifier(tf.keras.layers.Layer):
    """The Keras migration, its layers named as tf.compat.v1.layers named them."""

    def __init__(self, rate=RATE):
        super().__init__()
        init = tf.compat.v1.keras.initializers.glorot_uniform()
        self.hidden = tf.keras.layers.Dense(16, tf.nn.relu, name="dense", kernel_initializer=init)
        self.dropout = tf.keras.layers.Dropout(rate)
        self.logits = tf.keras.layers.Dense(CLASSES, name="dense_1", kernel_initializer=init)

    def call(self, features, training=None):
        net = self.dropout(self.hidden(features), training=training)
        return {"logits": self.logits(net)}


def tf1_name(name):
    return name.removeprefix("dropout_classifier/")


def cross_entropy(labels, outputs):
    return tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels,
                                                                           outputs["logits"])


def keras_adam():
    # TF1's AdamOptimizer has epsilon 1e-8, Keras's Adam 1e-7.
    return tf.keras.optimizers.Adam(LEARNING_RATE, epsilon=1e-8)
