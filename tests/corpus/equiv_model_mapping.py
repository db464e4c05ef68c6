"""The shim examples of TensorFlow's guide "Use TF1.x models in TF2 workflows" (model mapping).

Source: tensorflow/docs site/en/guide/migrate/model_mapping.ipynb, sections "Model built with
tf.compat.v1.layers" (with the dropout of its `CompatModel`), "Incremental migration: tf.Variables
and tf.Modules" (a decorated layer nested in another; its inner layer is the guide's
"Layer built with tf.compat.v1.get_variable") and "Using tf.compat.v1.make_template in the decorated
method". Each TF1 function is the guide's legacy code; each layer is the guide's shim migration of
it, called the way the guide calls it.
"""
import numpy as np
import tensorflow as tf

import tf_equiv


def images():
    return np.random.default_rng(0).normal(size=(8, 5, 5, 5)).astype(np.float32)


# "Model built with tf.compat.v1.layers", with the dropout of the guide's CompatModel
def compat_model(inputs, training, units=10):
    with tf.compat.v1.variable_scope("model"):
        out = tf.compat.v1.layers.conv2d(inputs, 3, 3, kernel_regularizer="l2")
        out = tf.compat.v1.layers.flatten(out)
        out = tf.compat.v1.layers.dropout(out, training=training)
        out = tf.compat.v1.layers.dense(out, units, kernel_regularizer="l2")
        return out


class CompatModel(tf.keras.layers.Layer):

    def __init__(self, units, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.units = units

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs, training=None):
        return compat_model(inputs, training, self.units)


compat_v1_layers = tf_equiv.Pair(tf1=compat_model, tf2=lambda: CompatModel(10), inputs=images)


# "Incremental migration: tf.Variables and tf.Modules": a decorated nested layer, tracked explicitly
def inner_dense(inputs, units):
    out = inputs
    with tf.compat.v1.variable_scope("inner_dense"):
        kernel = tf.compat.v1.get_variable(
            shape=[out.shape[-1], units], regularizer=tf.keras.regularizers.L2(),
            initializer=tf.compat.v1.initializers.glorot_normal, name="kernel")
        bias = tf.compat.v1.get_variable(
            shape=[units], initializer=tf.compat.v1.initializers.zeros, name="bias")
        out = tf.linalg.matmul(out, kernel)
        out = tf.compat.v1.nn.bias_add(out, bias)
    return out


def wrapped_dense(inputs, training, units=10):
    with tf.compat.v1.variable_scope("outer"):
        # As in the guide, the first dense layer's output is overwritten: its weights exist (and
        # have zero gradients) but do not reach the output.
        outputs = tf.compat.v1.layers.dense(inputs, 3)
        outputs = tf.compat.v1.layers.dense(inputs, 4)
        return inner_dense(outputs, units)


class NestedLayer(tf.keras.layers.Layer):

    def __init__(self, units, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.units = units

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def __call__(self, inputs):
        return inner_dense(inputs, self.units)


class WrappedDenseLayer(tf.keras.layers.Layer):

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        # Only create the nested layer once, and then reuse it each time.
        self._dense_layer = NestedLayer(self.units)

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs):
        with tf.compat.v1.variable_scope("outer"):
            outputs = tf.compat.v1.layers.dense(inputs, 3)
            outputs = tf.compat.v1.layers.dense(inputs, 4)
            return self._dense_layer(outputs)


nested_layer = tf_equiv.Pair(tf1=wrapped_dense, tf2=lambda: WrappedDenseLayer(10),
                             inputs=lambda: np.random.default_rng(0).normal(size=(5, 5)).astype(
                                 np.float32))


# "Using tf.compat.v1.make_template in the decorated method"
def _scale_by(x, scalar_name):
    var1 = tf.compat.v1.get_variable(scalar_name, shape=[],
                                     regularizer=tf.compat.v1.keras.regularizers.L2(),
                                     initializer=tf.compat.v1.constant_initializer(1.5))
    return x * var1


def template_scale(inputs, training):
    scale_by_y = tf.compat.v1.make_template("scale_by_y", _scale_by, scalar_name="y")
    with tf.compat.v1.variable_scope("layer"):
        return scale_by_y(inputs)


class CompatV1TemplateScaleByY(tf.keras.layers.Layer):

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scale_by_y = tf.compat.v1.make_template("scale_by_y", _scale_by, scalar_name="y")

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs):
        with tf.compat.v1.variable_scope("layer"):
            # Using a scope ensures the `scale_by_y` name will not be incremented
            # for each instantiation of the layer.
            return self.scale_by_y(inputs)


make_template = tf_equiv.Pair(tf1=template_scale, tf2=CompatV1TemplateScaleByY,
                              inputs=lambda: np.random.default_rng(0).normal(size=(2, 3)).astype(
                                  np.float32))
