"""Broken: weights that reach the wrong place, with every name and shape still right.

- `transposed_kernel`: the model-mapping guide's get_variable dense layer, square (8 -> 8), whose
  migration multiplies by the transposed kernel (a habit from an (out, in) weight layout).
- `swapped_layers`: the migration-debugging guide's model migrated to native Keras with two hidden
  layers of the same shape, whose constructor creates them in the wrong order: Keras auto-names
  them by creation order, so the name_map sends `dense` to the layer the TF1 code called second.

A constant reset cannot see either defect (a constant matrix equals its transpose; two constant
layers are interchangeable); copying TF1's random values into the TF2 model does.
"""
import numpy as np
import tensorflow as tf

import tf_equiv


def features():
    return np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)


def square_dense(inputs, training, units=8):
    with tf.compat.v1.variable_scope("dense"):
        kernel = tf.compat.v1.get_variable(
            shape=[inputs.shape[-1], units], regularizer=tf.keras.regularizers.L2(),
            initializer=tf.compat.v1.initializers.glorot_normal, name="kernel")
        bias = tf.compat.v1.get_variable(
            shape=[units], initializer=tf.compat.v1.initializers.zeros, name="bias")
        hidden = tf.nn.relu(tf.compat.v1.nn.bias_add(tf.linalg.matmul(inputs, kernel), bias))
    return {"hidden": hidden, "score": tf.reduce_sum(hidden, axis=-1)}


class TransposedDense(tf.keras.layers.Layer):

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs):
        with tf.compat.v1.variable_scope("dense"):
            kernel = tf.compat.v1.get_variable(
                shape=[inputs.shape[-1], 8], regularizer=tf.keras.regularizers.L2(),
                initializer=tf.compat.v1.initializers.glorot_normal, name="kernel")
            bias = tf.compat.v1.get_variable(
                shape=[8], initializer=tf.compat.v1.initializers.zeros, name="bias")
            hidden = tf.nn.relu(tf.compat.v1.nn.bias_add(
                tf.linalg.matmul(inputs, kernel, transpose_b=True), bias))
        return {"hidden": hidden, "score": tf.reduce_sum(hidden, axis=-1)}


transposed_kernel = tf_equiv.Pair(tf1=square_dense, tf2=TransposedDense, inputs=features)


def model_fn_forward(features, training):
    init = tf.compat.v1.glorot_uniform_initializer()
    out_1 = tf.compat.v1.layers.dense(features, units=8, kernel_initializer=init)
    out_2 = tf.compat.v1.layers.dense(out_1, units=8, kernel_initializer=init)
    logits = tf.compat.v1.layers.dense(out_2, units=3, kernel_initializer=init)
    return {"layer_1": out_1, "layer_2": out_2, "logits": logits}


class SimpleModel(tf.keras.Model):

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        init = tf.compat.v1.keras.initializers.glorot_uniform
        self.dense_2 = tf.keras.layers.Dense(8, kernel_initializer=init())   # auto-named "dense"
        self.dense_1 = tf.keras.layers.Dense(8, kernel_initializer=init())   # "dense_1"
        self.out = tf.keras.layers.Dense(3, kernel_initializer=init())       # "dense_2"

    def call(self, inputs):
        out_1 = self.dense_1(inputs)
        out_2 = self.dense_2(out_1)
        logits = self.out(out_2)
        return {"layer_1": out_1, "layer_2": out_2, "logits": logits}


swapped_layers = tf_equiv.Pair(
    tf1=model_fn_forward,
    tf2=SimpleModel,
    inputs=features,
    name_map=lambda name: name.replace("simple_model/", ""),
)
