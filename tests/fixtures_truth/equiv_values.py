"""Outputs whose comparison must not be fooled by their type: complex, 64-bit integers, bfloat16,
and a forward pass that returns nothing."""
import numpy as np
import tensorflow as tf

import tf_equiv


def shim(forward):
    class Migrated(tf.keras.layers.Layer):
        @tf.compat.v1.keras.utils.track_tf1_style_variables
        def call(self, x, training=None):
            return forward(x, bool(training))
    return Migrated


def inputs():
    return np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)


def scaled(x, training):
    w = tf.compat.v1.get_variable("w", [4, 4], initializer=tf.compat.v1.glorot_uniform_initializer())
    return tf.matmul(x, w)


def complex_out(x, training, imag=1.0):
    y = scaled(x, training)
    return tf.complex(y, imag * y)


def complex_imag_off(x, training):
    return complex_out(x, training, imag=100.0)


complex_imaginary = tf_equiv.Pair(tf1=complex_out, tf2=shim(complex_imag_off), inputs=inputs,
                                  checks=["transferred_inference"])
complex_same = tf_equiv.Pair(tf1=complex_out, tf2=shim(complex_out), inputs=inputs,
                             checks=["transferred_inference"])


def big_int(x, training, plus=0):
    scaled(x, training)
    return tf.constant([2 ** 60 + plus, 7], tf.int64)


def big_int_plus_one(x, training):
    return big_int(x, training, plus=1)


int64_off_by_one = tf_equiv.Pair(tf1=big_int, tf2=shim(big_int_plus_one), inputs=inputs,
                                 checks=["transferred_inference"], rtol=0, atol=0)


def bf16(x, training, shift=0.0):
    return tf.cast(scaled(x, training) + shift, tf.bfloat16)


def bf16_within_rounding(x, training):
    # One bfloat16 unit of rounding at most: the value before the cast moves by 1e-4 relative.
    return tf.cast(scaled(x, training) * 1.0001, tf.bfloat16)


def bf16_off(x, training):
    return bf16(x, training, shift=0.05)


bfloat16_rounding = tf_equiv.Pair(tf1=bf16, tf2=shim(bf16_within_rounding), inputs=inputs,
                                  checks=["transferred_inference"])
bfloat16_off = tf_equiv.Pair(tf1=bf16, tf2=shim(bf16_off), inputs=inputs,
                             checks=["transferred_inference"])


def nothing(x, training):
    scaled(x, training)
    return None


returns_none = tf_equiv.Pair(tf1=nothing, tf2=shim(nothing), inputs=inputs,
                             checks=["transferred_inference", "constant_inference", "gradients"])


def no_variables(x, training):
    return {"doubled": 2.0 * x}


no_trainable = tf_equiv.Pair(tf1=no_variables, tf2=shim(no_variables), inputs=inputs,
                             checks=["transferred_inference", "gradients"])
