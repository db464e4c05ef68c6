"""Correct migrations trained on many seeds of their data: none may fail.

Long free runs of a correct migration part chaotically (a ReLU or max-pool threshold flips one ulp
earlier on one side, and training amplifies it); each step run from TF1's state still agrees.
Two models, 20 data seeds each, 30 steps recorded every 10: tensorflow/models' slim CifarNet with
dropout, TF1 `MomentumOptimizer` against Keras `SGD(momentum)`, on 8x32x32x3 images drawn around
one template per class; and the dense, batch-norm and dropout net of _models.py with Adam.
"""
import numpy as np
import tensorflow as tf
import tf_slim as slim

import tf_equiv
from _models import loss as first_class_loss
from _models import net, shim

STEPS, EVERY = 30, 10
BATCH, CLASSES = 8, 10
RATE = 0.1


def cifarnet(images, training):
    """tensorflow/models' slim CifarNet (`nets/cifarnet.py`): its layers, widths, initializers
    and weight decay."""
    trunc = tf.compat.v1.truncated_normal_initializer
    with tf.compat.v1.variable_scope("CifarNet"):
        with slim.arg_scope([slim.conv2d], weights_initializer=trunc(stddev=5e-2),
                            activation_fn=tf.nn.relu), \
                slim.arg_scope([slim.fully_connected], biases_initializer=tf.constant_initializer(0.1),
                               weights_initializer=trunc(stddev=0.04),
                               weights_regularizer=slim.l2_regularizer(0.004),
                               activation_fn=tf.nn.relu):
            net = slim.conv2d(images, 64, [5, 5], scope="conv1")
            net = slim.max_pool2d(net, [3, 3], 2, scope="pool1")
            net = tf.nn.lrn(net, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75, name="norm1")
            net = slim.conv2d(net, 64, [5, 5], scope="conv2")
            net = tf.nn.lrn(net, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75, name="norm2")
            net = slim.max_pool2d(net, [3, 3], 2, scope="pool2")
            net = slim.flatten(net)
            net = slim.fully_connected(net, 384, scope="fc3")
            net = slim.dropout(net, 0.5, is_training=training, scope="dropout3")
            net = slim.fully_connected(net, 192, scope="fc4")
            return slim.fully_connected(net, CLASSES, biases_initializer=tf.zeros_initializer(),
                                        weights_initializer=trunc(stddev=1 / 192.0),
                                        weights_regularizer=None, activation_fn=None,
                                        scope="logits")


class CifarNet(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, images, training=None):
        return cifarnet(images, bool(training))


def images(seed, count=3):
    """`count` batches of images around one random template per class: image i of a batch is of
    class i (mod 10), so the labels are fixed by position."""
    rng = np.random.default_rng(seed)
    templates = rng.uniform(0, 1, (CLASSES, 32, 32, 3))
    labels = np.arange(BATCH) % CLASSES
    return [(templates[labels] + rng.normal(scale=0.3, size=(BATCH, 32, 32, 3))
             ).astype(np.float32) for _ in range(count)]


def class_loss(logits):
    labels = tf.range(tf.shape(logits)[0]) % CLASSES
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))


def cifarnet_pair(seed):
    return tf_equiv.Pair(
        tf1=cifarnet, tf2=CifarNet, inputs=lambda: images(seed, 1)[0], loss=class_loss,
        optimizers=(lambda: tf.compat.v1.train.MomentumOptimizer(RATE, momentum=0.9),
                    lambda: tf.keras.optimizers.SGD(RATE, momentum=0.9)),
        train=tf_equiv.Train(steps=STEPS, batches=lambda: images(seed), every=EVERY),
        checks=["training_run"])


def points(seed, count=4):
    """`count` batches of 16 points around three random centres."""
    rng = np.random.default_rng(1000 + seed)
    centers = rng.normal(size=(3, 8))
    return [(centers[rng.integers(0, 3, size=16)] + rng.normal(scale=0.7, size=(16, 8))
             ).astype(np.float32) for _ in range(count)]


def mlp_pair(seed):
    return tf_equiv.Pair(
        tf1=net, tf2=shim(net), inputs=lambda: points(seed, 1)[0], loss=first_class_loss,
        optimizers=(lambda: tf.compat.v1.train.AdamOptimizer(0.01),
                    lambda: tf.keras.optimizers.Adam(0.01, epsilon=1e-8)),
        train=tf_equiv.Train(steps=STEPS, batches=lambda: points(seed), every=EVERY),
        checks=["training_run"])


cifarnet_seed00 = cifarnet_pair(0)
cifarnet_seed01 = cifarnet_pair(1)
cifarnet_seed02 = cifarnet_pair(2)
cifarnet_seed03 = cifarnet_pair(3)
cifarnet_seed04 = cifarnet_pair(4)
cifarnet_seed05 = cifarnet_pair(5)
cifarnet_seed06 = cifarnet_pair(6)
cifarnet_seed07 = cifarnet_pair(7)
cifarnet_seed08 = cifarnet_pair(8)
cifarnet_seed09 = cifarnet_pair(9)
cifarnet_seed10 = cifarnet_pair(10)
cifarnet_seed11 = cifarnet_pair(11)
cifarnet_seed12 = cifarnet_pair(12)
cifarnet_seed13 = cifarnet_pair(13)
cifarnet_seed14 = cifarnet_pair(14)
cifarnet_seed15 = cifarnet_pair(15)
cifarnet_seed16 = cifarnet_pair(16)
cifarnet_seed17 = cifarnet_pair(17)
cifarnet_seed18 = cifarnet_pair(18)
cifarnet_seed19 = cifarnet_pair(19)
mlp_adam_seed00 = mlp_pair(0)
mlp_adam_seed01 = mlp_pair(1)
mlp_adam_seed02 = mlp_pair(2)
mlp_adam_seed03 = mlp_pair(3)
mlp_adam_seed04 = mlp_pair(4)
mlp_adam_seed05 = mlp_pair(5)
mlp_adam_seed06 = mlp_pair(6)
mlp_adam_seed07 = mlp_pair(7)
mlp_adam_seed08 = mlp_pair(8)
mlp_adam_seed09 = mlp_pair(9)
mlp_adam_seed10 = mlp_pair(10)
mlp_adam_seed11 = mlp_pair(11)
mlp_adam_seed12 = mlp_pair(12)
mlp_adam_seed13 = mlp_pair(13)
mlp_adam_seed14 = mlp_pair(14)
mlp_adam_seed15 = mlp_pair(15)
mlp_adam_seed16 = mlp_pair(16)
mlp_adam_seed17 = mlp_pair(17)
mlp_adam_seed18 = mlp_pair(18)
mlp_adam_seed19 = mlp_pair(19)
