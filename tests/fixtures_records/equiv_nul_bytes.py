"""String outputs that differ only by a trailing NUL byte: TF1 b"a\x00", the migration b"a"."""
import numpy as np
import tensorflow as tf

import tf_equiv


def tf1_forward(features, training):
    return {"names": tf.constant([b"a\x00", b"b"]), "x": features * 2.0}


class Migrated(tf.keras.layers.Layer):
    def call(self, features, training=None):
        return {"names": tf.constant([b"a", b"b"]), "x": features * 2.0}


def same_forward(features, training):
    return {"names": tf.constant([b"a\x00", b"b\x00\x00"]), "x": features * 2.0}


class Same(tf.keras.layers.Layer):
    def call(self, features, training=None):
        return {"names": tf.constant([b"a\x00", b"b\x00\x00"]), "x": features * 2.0}


def inputs():
    return np.arange(4, dtype=np.float32).reshape(2, 2)


trailing_nul = tf_equiv.Pair(tf1=tf1_forward, tf2=Migrated, inputs=inputs,
                             checks=["constant_inference"])
same_nuls = tf_equiv.Pair(tf1=same_forward, tf2=Same, inputs=inputs,
                          checks=["constant_inference"])
