"""A model that returns many small endpoints (slim's `end_points`, every layer's activation when
debugging): one dense layer, then RECORDS small tensors derived from it, in a dict. With
RECORDS_FAIL set, the migration scales the last endpoints by (1 + 1e-3): they differ.

The count comes from the environment so one module serves every size: RECORDS (default 100),
RECORDS_FAIL (default 0: a passing pair), RECORDS_CHECKS (comma-separated check ids; default:
every check that applies).
"""
import os

import numpy as np
import tensorflow as tf

import tf_equiv

COUNT = int(os.environ.get("RECORDS", "100"))
FAIL = int(os.environ.get("RECORDS_FAIL", "0"))


def _endpoints(features, scale_last):
    hidden = tf.compat.v1.layers.dense(features, 8, name="hidden")
    points = {}
    for i in range(COUNT):
        value = hidden * float(i % 7 + 1) + float(i)
        if scale_last and i >= COUNT - FAIL:
            value = value * (1 + 1e-3)
        points[f"e{i:05d}"] = value
    return points


def tf1_forward(features, training):
    return _endpoints(features, False)


class Endpoints(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, features, training=None):
        return _endpoints(features, True)


def inputs():
    return np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)


CHECKS = [c for c in os.environ.get("RECORDS_CHECKS", "").split(",") if c]
endpoints = tf_equiv.Pair(tf1=tf1_forward, tf2=Endpoints, inputs=inputs, **(
    {"checks": CHECKS} if CHECKS else {}))
