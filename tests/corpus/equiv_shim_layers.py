"""Shim layers as tf_keras's own tests of the modeling shim exercise them.

Source: keras-team/tf-keras `tf_keras/legacy_tf_layers/variable_scope_shim_test.py`:
`test_embedded_keras_model` (a Keras functional model built inside the decorated `call` on its
first call and kept on the layer), `GetOrCreateLayerTest` (`get_or_create_layer` under a
`variable_scope`, whose Keras variables do not take the scope's name) and `test_training_arg` (the
layer creates other variables when called in training). Each TF1 function is the legacy code the
shim layer stands for, at the tests' sizes.
"""
import numpy as np
import tensorflow as tf

import tf_equiv

L2 = 0.01     # Keras's "l2"


def features():
    return np.random.default_rng(0).normal(size=(5, 5)).astype(np.float32)


def ones_dense(inputs, units, name="dense"):
    return tf.compat.v1.layers.dense(
        inputs, units, name=name, kernel_initializer=tf.compat.v1.ones_initializer(),
        kernel_regularizer=tf.keras.regularizers.L2(L2))


# test_embedded_keras_model
def tf1_embedded(inputs, training):
    return ones_dense(inputs, 10)


class EmbeddedModel(tf.keras.layers.Layer):
    def __init__(self, units=10, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self._dense_model = None

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs, training=None):
        if not self._dense_model:
            inp = tf.keras.Input(shape=inputs.shape[1:])
            dense = tf.keras.layers.Dense(
                self.units, name="dense", kernel_initializer=tf.compat.v1.ones_initializer(),
                kernel_regularizer="l2")
            self._dense_model = tf.keras.Model(inputs=inp, outputs=dense(inp))
        return self._dense_model(inputs)


embedded_keras_model = tf_equiv.Pair(tf1=tf1_embedded, tf2=EmbeddedModel, inputs=features)


# GetOrCreateLayerTest: the Keras model made once per scope key; its variables keep Keras names
def tf1_scoped(inputs, training):
    with tf.compat.v1.variable_scope("test_scope"):
        return ones_dense(inputs, 10)


class NestedLayer(tf.keras.layers.Layer):
    def build_model(self):
        inp = tf.keras.Input(shape=(5,))
        dense = tf.keras.layers.Dense(
            10, name="dense", kernel_regularizer="l2",
            kernel_initializer=tf.compat.v1.ones_initializer())
        return tf.keras.Model(inputs=inp, outputs=dense(inp))

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs, training=None):
        with tf.compat.v1.variable_scope("test_scope"):
            model = tf.compat.v1.keras.utils.get_or_create_layer("dense_model", self.build_model)
            return model(inputs)


def into_test_scope(name):
    """TF2's `dense/kernel` (Keras names ignore the variable_scope) is TF1's
    `test_scope/dense/kernel`."""
    return "test_scope/" + name


get_or_create_layer = tf_equiv.Pair(tf1=tf1_scoped, tf2=NestedLayer, inputs=features,
                                    name_map=into_test_scope)


# test_training_arg: other variables in training
def tf1_training_check(inputs, training):
    return ones_dense(inputs, 10, "dense_training" if training else "dense_no_training")


class TrainingCheckLayer(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs, training=None):
        return tf1_training_check(inputs, training)


training_arg = tf_equiv.Pair(tf1=tf1_training_check, tf2=TrainingCheckLayer, inputs=features)
