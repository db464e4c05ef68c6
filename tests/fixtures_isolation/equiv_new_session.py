"""Pairs whose code starts a process in a session of its own (out of the side's process group),
which would outlive the run: one that finishes, one that hangs until its timeout.

`TF_EQUIV_TEST_MARK` (a number) is appended to the process's arguments, so that a test finds it;
`TF_EQUIV_TEST_PIDS` names a file each started process's pid is appended to."""
import os
import subprocess
import time

import numpy as np
import tensorflow as tf

import tf_equiv


def start_sleeper():
    sleeper = subprocess.Popen(["sleep", "300", os.environ.get("TF_EQUIV_TEST_MARK", "0")],
                               start_new_session=True)
    with open(os.environ.get("TF_EQUIV_TEST_PIDS", os.devnull), "a") as f:
        f.write(f"{sleeper.pid}\n")


def tf1_dense(features, training):
    start_sleeper()
    return tf.compat.v1.layers.dense(features, 4, name="dense")


def tf1_hangs(features, training):
    start_sleeper()
    time.sleep(600)


class Dense(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, features, training=None):
        return tf.compat.v1.layers.dense(features, 4, name="dense")


def inputs():
    return np.ones((2, 3), np.float32)


escapes = tf_equiv.Pair(tf1=tf1_dense, tf2=Dense, inputs=inputs, checks=["variables_match"])
escapes_and_hangs = tf_equiv.Pair(tf1=tf1_hangs, tf2=Dense, inputs=inputs,
                                  checks=["variables_match"], timeout=15)
