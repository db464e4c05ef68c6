"""Reusing a TF1 name-based checkpoint after the migration renamed the variables.

Source: tensorflow/docs site/en/guide/migrate/migrating_checkpoints.ipynb. Its TF1 program saves
the variables `a`, `b` and `scoped/c` with `tf1.train.Saver`; its migrated model creates them again
under a new scope and loads them with `init_from_checkpoint(..., assignment_map={'/':
'new_scope/'})`.
Here `a`, `b` and `scoped/c` are the kernel, bias and output scale of a small linear model, and
ckpt/tf1-ckpt is such a checkpoint, written by the TF1 code with `tf1.train.Saver`
(`_make_checkpoint.py` makes it again).

- `new_scope`: the shim-wrapped TF1 code under `variable_scope('new_scope')`; the name_map is the
  guide's assignment map read the other way (TF2 name -> TF1 name).
- `tf_variables`: the guide's "Variable names in TF2" section: plain `tf.Variable`s in a
  `tf.Module`, `c` under `tf.name_scope('scoped')`, which keeps the TF1 names without any map.
"""
import numpy as np
import tensorflow as tf

import tf_equiv

tf1 = tf.compat.v1

CHECKPOINT = "ckpt/tf1-ckpt"


def linear(features, training):
    """The TF1 model whose checkpoint is kept."""
    a = tf1.get_variable("a", shape=[6, 4], dtype=tf.float32,
                         initializer=tf1.glorot_uniform_initializer())
    b = tf1.get_variable("b", shape=[4], dtype=tf.float32, initializer=tf1.zeros_initializer())
    c = tf1.get_variable("scoped/c", shape=[4], dtype=tf.float32,
                         initializer=tf1.constant_initializer(1.5))
    return {"scores": (tf.matmul(features, a) + b) * c}


class NewScope(tf.keras.layers.Layer):
    """The migrated model: the same code, its variables now under 'new_scope'."""

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, features, training=None):
        with tf1.variable_scope("new_scope"):
            return linear(features, bool(training))


def features():
    return np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)


new_scope = tf_equiv.Pair(
    tf1=linear,
    tf2=NewScope,
    inputs=features,
    checkpoint=CHECKPOINT,
    # init_from_checkpoint's assignment_map={'/': 'new_scope/'}, TF2 name -> TF1 name.
    name_map=lambda name: name.replace("new_scope/", "", 1),
)


class TFVariables(tf.Module):
    """The same model written with tf.Variable: names set explicitly, as the guide advises."""

    def __init__(self):
        super().__init__()
        self.a = tf.Variable(tf1.glorot_uniform_initializer()([6, 4]), name="a")
        self.b = tf.Variable(tf.zeros([4]), name="b")
        with tf.name_scope("scoped"):
            self.c = tf.Variable(tf.fill([4], 1.5), name="c")

    def __call__(self, features, training=None):
        return {"scores": (tf.matmul(features, self.a) + self.b) * self.c}


tf_variables = tf_equiv.Pair(
    tf1=linear,
    tf2=TFVariables,
    inputs=features,
    checkpoint=CHECKPOINT,
)
