"""A four-layer network in blocks b1-b4 and two migrations of it: a faithful one, and one whose
block b2 uses sigmoid where TF1 used tanh (the diagnosis must name the block and both ops)."""
import functools

import numpy as np
import tensorflow as tf

import tf_equiv
from _models import shim


def net(features, training, *, b2=tf.nn.tanh):
    dense = tf.compat.v1.layers.dense
    init = tf.compat.v1.glorot_uniform_initializer()
    h = features
    for block, activation in (("b1", tf.nn.relu), ("b2", b2), ("b3", tf.nn.relu)):
        with tf.compat.v1.variable_scope(block):
            h = dense(h, 32, activation=activation, name="dense", kernel_initializer=init)
            h = tf.compat.v1.layers.dropout(h, rate=0.1, training=training)
    with tf.compat.v1.variable_scope("b4"):
        return dense(h, 10, name="logits", kernel_initializer=init)


def inputs():
    return np.random.default_rng(0).normal(size=(8, 20)).astype(np.float32)


passing = tf_equiv.Pair(tf1=net, tf2=shim(net), inputs=inputs)
failing = tf_equiv.Pair(tf1=net, tf2=shim(functools.partial(net, b2=tf.nn.sigmoid)),
                        inputs=inputs)
