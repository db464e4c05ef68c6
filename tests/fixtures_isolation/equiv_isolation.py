"""Pairs that change global state, hang or crash, and a witness pair after them that sees any of
it: forked or not, every pair starts from the state of a fresh process."""
import os
import signal
import time

import numpy as np
import tensorflow as tf
from tensorflow.python.eager import context
from tensorflow.python.framework import config as tf_config

import tf_equiv

#: A module-level variable the polluters change.
STATE = {"touched": False}


def inputs():
    return np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)


def pollute():
    """Everything a pair can change in its process and leave behind."""
    STATE["touched"] = True
    tf.random.set_seed(7)
    tf.config.optimizer.set_jit(True)
    tf.config.optimizer.set_experimental_options({"constant_folding": False})
    tf_config.disable_op_determinism()
    tf.keras.layers.Dense(2)            # advances Keras's auto-generated names
    tf.keras.backend.set_floatx("float64")


def tf1_dense(features, training):
    return tf.compat.v1.layers.dense(features, 4, name="dense")


class Native(tf.keras.Model):
    """The witness's TF2 side: a native Keras layer with its auto-generated name."""

    def __init__(self):
        super().__init__()
        self.dense = tf.keras.layers.Dense(4)

    def call(self, features, training=None):
        return self.dense(features)


def tf1_polluting(features, training):
    pollute()
    return tf1_dense(features, training)


class Polluting(Native):
    def call(self, features, training=None):
        pollute()
        return super().call(features)


def fresh():
    """What the witness sees in a fresh process, as TF1 graph code and as eager TF2 code."""
    return (not STATE["touched"] and not tf.config.optimizer.get_jit()
            and "constant_folding" not in tf.config.optimizer.get_experimental_options()
            and tf.keras.backend.floatx() == "float32"
            and tf_config.is_op_determinism_enabled() and context.global_seed() == 42)


def tf1_witness(features, training):
    out = tf1_dense(features, training)
    return out if fresh() else out * 2.0


class Witness(Native):
    def call(self, features, training=None):
        out = super().call(features)
        return out if fresh() else out * 3.0


def tf1_hangs(features, training):
    pollute()
    time.sleep(600)


class Raises(Native):
    def call(self, features, training=None):
        pollute()
        self.dense(features)
        raise ValueError("a failure in the middle of the build")


def tf1_crashes(features, training):
    pollute()
    os.kill(os.getpid(), signal.SIGSEGV)




def NAMES(name):
    """The TF2 model's own scope off: `witness/dense/kernel` is TF1's `dense/kernel`."""
    return name.split("/", 1)[1]


CHECKS = ["variables_*", "transferred_inference", "constant_inference"]

polluting = tf_equiv.Pair(tf1=tf1_polluting, tf2=Polluting, inputs=inputs, name_map=NAMES,
                          checks=CHECKS)
hangs = tf_equiv.Pair(tf1=tf1_hangs, tf2=Native, inputs=inputs, name_map=NAMES, checks=CHECKS,
                      timeout=8)
raises = tf_equiv.Pair(tf1=tf1_dense, tf2=Raises, inputs=inputs, name_map=NAMES, checks=CHECKS)
crashes = tf_equiv.Pair(tf1=tf1_crashes, tf2=Native, inputs=inputs, name_map=NAMES,
                        checks=CHECKS)
witness = tf_equiv.Pair(tf1=tf1_witness, tf2=Witness, inputs=inputs, name_map=NAMES,
                        checks=CHECKS)


def tf1_leaky(features, training):
    pollute()
    return tf1_witness(features, training)


class Leaky(Witness):
    """The witness in a polluted process: what a leak would look like (the control)."""

    def call(self, features, training=None):
        pollute()
        return super().call(features)


leaky = tf_equiv.Pair(tf1=tf1_leaky, tf2=Leaky, inputs=inputs, name_map=NAMES, checks=CHECKS)
