"""TF1 tf.compat.v1.layers code migrated to NATIVE tf.keras layers (no shim), with a name_map.

Sources (tensorflow/docs site/en/guide/migrate/):
- migration_debugging.ipynb, "Model training numerical equivalence validation for a few steps":
  `SimpleModelWrapper.model_fn` (three auto-named `tf.compat.v1.layers.dense` at the graph's root,
  softmax cross-entropy, GradientDescent) migrated to `SimpleModel(tf.keras.Model)` with three
  `tf.keras.layers.Dense` and Keras SGD. The guide logs every layer's output; so do both sides here.
- model_mapping.ipynb, "Migration to Native TF2 ignoring checkpoint compatibility": `CompatModel`
  (conv2d, flatten, dense under variable_scope 'model', "l2" regularizers) migrated to
  `FullyNativeModel` (Keras Conv2D, Flatten, Dense created in the constructor).

Keras names the variables after the model and its auto-named layers (`simple_model/dense/kernel`),
TF1 after the variable scopes (`dense/kernel`), so each pair maps the names.
"""
import numpy as np
import tensorflow as tf

import tf_equiv

PARAMS = {"input_size": 3, "num_classes": 3, "layer_1_size": 2, "layer_2_size": 2}

# The guide's small fixed dataset.
FAKE_X = np.ones((2, PARAMS["input_size"]), dtype=np.float32)
FAKE_Y = np.zeros((2, PARAMS["num_classes"]), dtype=np.float32)
FAKE_Y[0][0] = 1
FAKE_Y[1][1] = 1


def model_fn_forward(features, training):
    """The forward part of the guide's TF1 model_fn, with its logged layer outputs."""
    out_1 = tf.compat.v1.layers.dense(features, units=PARAMS["layer_1_size"])
    out_2 = tf.compat.v1.layers.dense(out_1, units=PARAMS["layer_2_size"])
    logits = tf.compat.v1.layers.dense(out_2, units=PARAMS["num_classes"])
    return {"layer_1": out_1, "layer_2": out_2, "logits": logits}


class SimpleModel(tf.keras.Model):
    """The guide's TF2 model (its optimizer and train_step live in the Pair here)."""

    def __init__(self, params, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dense_1 = tf.keras.layers.Dense(params["layer_1_size"])
        self.dense_2 = tf.keras.layers.Dense(params["layer_2_size"])
        self.out = tf.keras.layers.Dense(params["num_classes"])

    def call(self, inputs):
        out_1 = self.dense_1(inputs)
        out_2 = self.dense_2(out_1)
        logits = self.out(out_2)
        return {"layer_1": out_1, "layer_2": out_2, "logits": logits}


def softmax_cross_entropy(outputs):
    # tf.compat.v1.losses.softmax_cross_entropy and Keras CategoricalCrossentropy(from_logits=True)
    # both reduce to the mean over the batch; one expression serves both sides.
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=FAKE_Y,
                                                                  logits=outputs["logits"]))


simple_model = tf_equiv.Pair(
    tf1=model_fn_forward,
    tf2=lambda: SimpleModel(PARAMS),
    inputs=FAKE_X,
    # Keras: simple_model/dense/kernel; TF1: dense/kernel.
    name_map=lambda name: name.replace("simple_model/", ""),
    loss=softmax_cross_entropy,
    optimizers=(lambda: tf.compat.v1.train.GradientDescentOptimizer(0.1),
                lambda: tf.keras.optimizers.SGD(0.1)),
)


def compat_model(inputs, training, units=10):
    with tf.compat.v1.variable_scope("model"):
        out = tf.compat.v1.layers.conv2d(inputs, 3, 3, kernel_regularizer="l2")
        out = tf.compat.v1.layers.flatten(out)
        out = tf.compat.v1.layers.dense(out, units, kernel_regularizer="l2")
        return out


class FullyNativeModel(tf.keras.layers.Layer):

    def __init__(self, units, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.units = units
        self.conv_layer = tf.keras.layers.Conv2D(3, 3, kernel_regularizer="l2")
        self.flatten_layer = tf.keras.layers.Flatten()
        self.dense_layer = tf.keras.layers.Dense(self.units, kernel_regularizer="l2")

    def call(self, inputs):
        out = self.conv_layer(inputs)
        out = self.flatten_layer(out)
        out = self.dense_layer(out)
        return out


fully_native = tf_equiv.Pair(
    tf1=compat_model,
    tf2=lambda: FullyNativeModel(10),
    inputs=lambda: np.random.default_rng(0).normal(size=(8, 5, 5, 5)).astype(np.float32),
    # Keras: fully_native_model/conv2d/kernel; TF1: model/conv2d/kernel.
    name_map=lambda name: name.replace("fully_native_model/", "model/"),
)
