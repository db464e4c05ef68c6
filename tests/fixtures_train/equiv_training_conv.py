"""A small tf_slim ResNet (convolutions, batch norm, L2) trained with SGD-momentum: correct, and
with a learning rate 1e-3 too large. oneDNN's convolutions round differently from Eigen's, so
this is where the band's oneDNN-off run measures something."""
import numpy as np
import tensorflow as tf
import tf_slim as slim
from tf_slim.nets import resnet_v1

import tf_equiv

RATE = 0.002


def forward(images, training):
    blocks = [resnet_v1.resnet_v1_block("block1", base_depth=8, num_units=2, stride=2),
              resnet_v1.resnet_v1_block("block2", base_depth=16, num_units=1, stride=1)]
    with slim.arg_scope(resnet_v1.resnet_arg_scope(weight_decay=1e-4)):
        logits, _ = resnet_v1.resnet_v1(images, blocks, num_classes=5, is_training=training,
                                        global_pool=True, scope="resnet")
    return tf.squeeze(logits, [1, 2])


class Migrated(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, images, training=None):
        return forward(images, bool(training))


def batches():
    rng = np.random.default_rng(1)
    for _ in range(6):
        yield rng.uniform(-1, 1, (4, 24, 24, 3)).astype(np.float32)


def loss(logits):
    labels = tf.zeros(tf.shape(logits)[:1], dtype=tf.int32)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))


def pair(tf2_rate):
    return tf_equiv.Pair(
        tf1=forward, tf2=Migrated,
        inputs=lambda: np.random.default_rng(0).uniform(-1, 1, (4, 24, 24, 3)).astype(np.float32),
        loss=loss,
        optimizers=(lambda: tf.compat.v1.train.MomentumOptimizer(RATE, 0.9),
                    lambda: tf.keras.optimizers.SGD(tf2_rate, momentum=0.9)),
        train=tf_equiv.Train(steps=40, batches=batches, every=5),
        checks=["training_run"])


conv = pair(RATE)
conv_learning_rate_1e3 = pair(RATE * 1.001)
