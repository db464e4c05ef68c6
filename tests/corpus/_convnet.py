"""A small TF1 convnet (tf.compat.v1.layers) and its native-Keras migration, shared by the corpus's
correct native migration (equiv_native_convnet.py) and by the broken ones (equiv_broken_*.py), which
build the same Keras model with one hyperparameter or one line wrong.

The TF1 code follows the model-mapping guide's `CompatModel` pattern (conv layers, dropout, L2
kernel regularizers under one variable_scope) with three named blocks, the second a leaky ReLU, as
a classifier head on global average pooling.
"""
import numpy as np
import tensorflow as tf

L2 = 1e-4
RATE = 0.25
ACTIVATIONS = (tf.nn.relu, tf.nn.leaky_relu, tf.nn.relu)
FILTERS = (8, 16, 16)
CLASSES = 5


def convnet(images, training):
    """The legacy TF1.x model. Outputs every block, as the debugging guide logs every layer."""
    l2 = tf.compat.v1.keras.regularizers.l2(L2)
    init = tf.compat.v1.glorot_uniform_initializer()
    outputs = {}
    with tf.compat.v1.variable_scope("convnet"):
        net = images
        for i, (filters, activation) in enumerate(zip(FILTERS, ACTIVATIONS), start=1):
            net = tf.compat.v1.layers.conv2d(net, filters, 3, padding="same", activation=activation,
                                             kernel_initializer=init, kernel_regularizer=l2,
                                             name=f"block{i}")
            outputs[f"block{i}"] = net
        net = tf.reduce_mean(net, axis=[1, 2])
        net = tf.compat.v1.layers.dropout(net, rate=RATE, training=training)
        outputs["logits"] = tf.compat.v1.layers.dense(net, CLASSES, kernel_initializer=init,
                                                      kernel_regularizer=l2, name="logits")
    return outputs


class ConvNet(tf.keras.layers.Layer):
    """The native Keras migration: one Keras layer per TF1 layer, named as the TF1 scopes were."""

    def __init__(self, activations=ACTIVATIONS, dropout_rate=RATE, logits_l2=L2, **kwargs):
        super().__init__(**kwargs)
        # Keras's own GlorotUniform draws with a stateless op that DeterministicRandomTestTool
        # cannot align with TF1's draw; the TF1 initializer (the same distribution) keeps the
        # random_* checks exact while validating.
        init = tf.compat.v1.keras.initializers.glorot_uniform
        self.blocks = [
            tf.keras.layers.Conv2D(filters, 3, padding="same", activation=activation,
                                   kernel_initializer=init(),
                                   kernel_regularizer=tf.keras.regularizers.L2(L2),
                                   name=f"block{i}")
            for i, (filters, activation) in enumerate(zip(FILTERS, activations), start=1)]
        self.dropout = tf.keras.layers.Dropout(dropout_rate)
        self.logits = tf.keras.layers.Dense(
            CLASSES, kernel_initializer=init(),
            kernel_regularizer=tf.keras.regularizers.L2(logits_l2) if logits_l2 else None,
            name="logits")

    def call(self, images, training=None):
        outputs = {}
        net = images
        for i, block in enumerate(self.blocks, start=1):
            net = block(net)
            outputs[f"block{i}"] = net
        net = tf.reduce_mean(net, axis=[1, 2])
        net = self.dropout(net, training=training)
        outputs["logits"] = self.logits(net)
        return outputs


def tf1_name(tf2_name):
    """Keras prefixes the variables with the model layer's own name (conv_net)."""
    return tf2_name.replace("conv_net/", "convnet/", 1)


def images():
    return np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 3)).astype(np.float32)
