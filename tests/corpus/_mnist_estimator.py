"""A small convnet `model_fn` in the style of tensorflow/models' r1 MNIST estimator (its layers
from `tf.compat.v1.layers`: conv2d, batch normalization, max pooling, a dense classifier; sparse
softmax cross-entropy and AdamOptimizer), with batch normalization whose moving statistics advance
only through the `UPDATE_OPS` collection, wired into the train_op by `control_dependencies` as a
TF1 training script must. The Keras migration (`MnistConvNet`) updates them in its call.
Shared by equiv_estimator_mnist.py (correct) and equiv_broken_estimator_updates.py.
"""
import numpy as np
import tensorflow as tf

LEARNING_RATE = 1e-3
CLASSES = 10
PARAMS = {"wire_update_ops": True}


def images():
    """A batch of 8x8 grey images."""
    return np.random.default_rng(1).uniform(0.0, 1.0, size=(4, 8, 8, 1)).astype(np.float32)


def labels():
    return np.array([3, 1, 4, 1], np.int32)


def model_fn(features, labels, mode, params):
    """The legacy TF1.x model. With params["wire_update_ops"] False, the train_op does not run the
    batch-norm updates: the classic TF1 bug, moving statistics that never move."""
    modes = tf.compat.v1.estimator.ModeKeys
    training = mode == modes.TRAIN
    init = tf.compat.v1.glorot_uniform_initializer()
    net = tf.compat.v1.layers.conv2d(features, 8, 3, padding="same", use_bias=False,
                                     kernel_initializer=init)
    net = tf.compat.v1.layers.batch_normalization(net, training=training)
    net = tf.compat.v1.layers.max_pooling2d(tf.nn.relu(net), 2, 2)
    logits = tf.compat.v1.layers.dense(tf.compat.v1.layers.flatten(net), CLASSES,
                                       kernel_initializer=init)
    predictions = {"classes": tf.argmax(logits, axis=1), "logits": logits}
    if mode == modes.PREDICT:
        return tf.compat.v1.estimator.EstimatorSpec(mode, predictions=predictions)
    loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    optimizer = tf.compat.v1.train.AdamOptimizer(LEARNING_RATE)
    updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS) \
        if params["wire_update_ops"] else []
    with tf.control_dependencies(updates):
        train_op = optimizer.minimize(loss, global_step=tf.compat.v1.train.get_global_step())
    return tf.compat.v1.estimator.EstimatorSpec(mode, predictions=predictions, loss=loss,
                                                train_op=train_op)


class MnistConvNet(tf.keras.layers.Layer):
    """The Keras migration: one Keras layer per TF1 layer, named as tf.compat.v1.layers named
    them; Keras's BatchNormalization has TF1's defaults (momentum 0.99, epsilon 1e-3)."""

    def __init__(self):
        super().__init__()
        # The TF1 initializer (Keras's GlorotUniform draws statelessly, which
        # DeterministicRandomTestTool cannot align).
        init = tf.compat.v1.keras.initializers.glorot_uniform()
        self.conv = tf.keras.layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv2d",
                                           kernel_initializer=init)
        self.norm = tf.keras.layers.BatchNormalization(name="batch_normalization")
        self.pool = tf.keras.layers.MaxPooling2D(2, 2)
        self.flatten = tf.keras.layers.Flatten()
        self.logits = tf.keras.layers.Dense(CLASSES, name="dense", kernel_initializer=init)

    def call(self, images, training=None):
        net = self.pool(tf.nn.relu(self.norm(self.conv(images), training=training)))
        logits = self.logits(self.flatten(net))
        return {"classes": tf.argmax(logits, axis=1), "logits": logits}


def tf1_name(name):
    """The Keras variable's name as the model_fn named it: the layer's own name goes."""
    return name.removeprefix("mnist_conv_net/")


def cross_entropy(labels, outputs):
    return tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels,
                                                                           outputs["logits"])


def keras_adam():
    # TF1's AdamOptimizer has epsilon 1e-8, Keras's Adam 1e-7.
    return tf.keras.optimizers.Adam(LEARNING_RATE, epsilon=1e-8)
