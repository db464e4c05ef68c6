"""Four dense blocks b0-b3, each a dense layer `fc` then its activation outside the layer, and
migrations whose defect lies in one block while the first aligned op that differs lies in the
next: the diagnosis must send the user to the block holding the op that differs or has no
counterpart."""
import functools

import numpy as np
import tensorflow as tf
from _blocks import shim

import tf_equiv

CHECKS = ["transferred_inference", "constant_inference"]


def _tanh_then_halve(h):
    return tf.nn.tanh(h) * 0.5


def _sigmoid_then_halve(h):
    return tf.nn.sigmoid(h) * 0.5


def _plus_tenth(h):
    return tf.nn.relu(h) + 0.1


def net(features, training, *, activations=None):
    """`activations` maps a block to the function applied after its dense layer (ReLU else),
    inside the block's scope and outside the layer's."""
    del training
    init = tf.compat.v1.glorot_uniform_initializer()
    h = features
    for block in ("b0", "b1", "b2", "b3"):
        with tf.compat.v1.variable_scope(block):
            h = tf.compat.v1.layers.dense(h, 8, name="fc", kernel_initializer=init)
            h = (activations or {}).get(block, tf.nn.relu)(h)
    return {"logits": h}


def inputs():
    return np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)


def _pair(tf1_activations, tf2_activations):
    return tf_equiv.Pair(tf1=functools.partial(net, activations=tf1_activations),
                         tf2=shim(functools.partial(net, activations=tf2_activations)),
                         inputs=inputs, checks=CHECKS)


# Defect: block b2 ends in sigmoid where TF1 has tanh (ops b2/Sigmoid and b2/Tanh); the first
# aligned op that differs is b3/fc/MatMul.
activation_outside_layer = _pair({"b2": tf.nn.tanh}, {"b2": tf.nn.sigmoid})

# Defect: in the middle of block b1, sigmoid where TF1 has tanh; b1/mul, after it, reads it.
changed_mid_block = _pair({"b1": _tanh_then_halve}, {"b1": _sigmoid_then_halve})

# Defect: the migrated block b1 ends with an op TF1 lacks (b1/add); b2/fc/MatMul reads it.
added_at_boundary = _pair({}, {"b1": _plus_tenth})

# Defect: the migration drops the op that ends TF1's block b1 (b1/add).
dropped_at_boundary = _pair({"b1": _plus_tenth}, {})
