"""The models of TensorFlow's guide "Validating correctness & numerical equivalence".

Source: tensorflow/docs site/en/guide/migrate/validate_correctness.ipynb.

The guide's subject is TF-Slim's Inception-ResNet-v2 (from tensorflow/models research/slim, which
is not a tf_slim package net) inside the modeling shim, with `batch_norm_scale=True`, L2 weight
decay and dropout before the logits. `inception_resnet` follows that network's structure at a
small size: the stem, a mixed block, two `block35`-style residual blocks (two towers each here)
added with a scale, then average pool, dropout and a fully connected layer, all through slim's
`arg_scope` as the guide's TF1 code does.

`fixed_scaling` is the guide's Step 1 `FixedScalingLayer` (explicit `tf.Variable`s created once).
"""
import numpy as np
import tensorflow as tf
import tf_slim as slim

import tf_equiv


def arg_scope(weight_decay=0.00004, batch_norm_scale=False):
    """Inception-ResNet-v2's default arg_scope: L2 on weights and biases, batch norm after conv."""
    l2 = slim.l2_regularizer(weight_decay)
    with slim.arg_scope([slim.conv2d, slim.fully_connected], weights_regularizer=l2,
                        biases_regularizer=l2):
        with slim.arg_scope([slim.conv2d], activation_fn=tf.nn.relu,
                            normalizer_fn=slim.batch_norm,
                            normalizer_params={"decay": 0.9997, "epsilon": 0.001,
                                               "fused": None, "scale": batch_norm_scale}) as scope:
            return scope


def residual_block(net, scale, scope=None):
    """A block35-style residual block: two towers, concatenated, projected back and scaled."""
    with tf.compat.v1.variable_scope(scope, "Block35", [net]):
        with tf.compat.v1.variable_scope("Branch_0"):
            tower_0 = slim.conv2d(net, 8, 1, scope="Conv2d_1x1")
        with tf.compat.v1.variable_scope("Branch_1"):
            tower_1 = slim.conv2d(net, 8, 1, scope="Conv2d_0a_1x1")
            tower_1 = slim.conv2d(tower_1, 8, 3, scope="Conv2d_0b_3x3")
        mixed = tf.concat([tower_0, tower_1], axis=3)
        up = slim.conv2d(mixed, net.get_shape()[3], 1, normalizer_fn=None, activation_fn=None,
                         scope="Conv2d_1x1")
        return tf.nn.relu(net + scale * up)


def mini_inception_resnet(inputs, num_classes, is_training=True, dropout_keep_prob=0.8,
                          scope="InceptionResnetV2"):
    """A small Inception-ResNet-v2: the same kinds of layers, scopes and endpoints."""
    end_points = {}
    with tf.compat.v1.variable_scope(scope, "InceptionResnetV2", [inputs]):
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            with slim.arg_scope([slim.conv2d, slim.max_pool2d, slim.avg_pool2d], stride=1,
                                padding="SAME"):
                net = slim.conv2d(inputs, 16, 3, stride=2, padding="VALID", scope="Conv2d_1a_3x3")
                end_points["Conv2d_1a_3x3"] = net
                net = slim.conv2d(net, 16, 3, padding="VALID", scope="Conv2d_2a_3x3")
                net = slim.max_pool2d(net, 3, stride=2, padding="VALID", scope="MaxPool_3a_3x3")
                end_points["MaxPool_3a_3x3"] = net
                with tf.compat.v1.variable_scope("Mixed_5b"):
                    with tf.compat.v1.variable_scope("Branch_0"):
                        tower_0 = slim.conv2d(net, 16, 1, scope="Conv2d_1x1")
                    with tf.compat.v1.variable_scope("Branch_1"):
                        tower_1 = slim.conv2d(net, 8, 1, scope="Conv2d_0a_1x1")
                        tower_1 = slim.conv2d(tower_1, 16, 5, scope="Conv2d_0b_5x5")
                    with tf.compat.v1.variable_scope("Branch_2"):
                        tower_2 = slim.avg_pool2d(net, 3, scope="AvgPool_0a_3x3")
                        tower_2 = slim.conv2d(tower_2, 8, 1, scope="Conv2d_0b_1x1")
                    net = tf.concat([tower_0, tower_1, tower_2], 3)
                end_points["Mixed_5b"] = net
                net = slim.repeat(net, 2, residual_block, scale=0.17)
                end_points["Repeat"] = net
            with tf.compat.v1.variable_scope("Logits"):
                net = slim.avg_pool2d(net, net.get_shape()[1:3], padding="VALID",
                                      scope="AvgPool_1a")
                net = slim.flatten(net)
                net = slim.dropout(net, dropout_keep_prob, scope="Dropout")
                end_points["PreLogitsFlatten"] = net
                logits = slim.fully_connected(net, num_classes, activation_fn=None,
                                              scope="Logits")
                end_points["Logits"] = logits
                end_points["Predictions"] = tf.nn.softmax(logits, name="Predictions")
    return logits, end_points


NUM_CLASSES = 10


# TF1 forward pass based on slim layers, as in the guide.
def inception_resnet_v2(inputs, num_classes, is_training):
    with slim.arg_scope(arg_scope(batch_norm_scale=True)):
        return mini_inception_resnet(inputs, num_classes, is_training=is_training)


class InceptionResnetV2(tf.keras.layers.Layer):
    """Slim InceptionResnetV2 forward pass as a Keras layer (the guide's migration)."""

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs, training=None):
        # Slim does not accept None for is_training; Keras passes None to mean inference.
        is_training = training or False
        with slim.arg_scope(arg_scope(batch_norm_scale=True)):
            return mini_inception_resnet(inputs, self.num_classes, is_training=is_training)


inception_resnet = tf_equiv.Pair(
    tf1=lambda inputs, training: inception_resnet_v2(inputs, NUM_CLASSES, training),
    tf2=lambda: InceptionResnetV2(NUM_CLASSES),
    inputs=lambda: np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32),
    loss=lambda outputs: tf.reduce_mean(outputs[0]),
)


# Step 1 of the guide: explicit tf.Variables, created on the first call only.
def scaling(inputs, training):
    """The TF1 code: a scale and a bias made with tf.Variable in the graph."""
    var = tf.Variable(initial_value=2.0)
    bias = tf.Variable(initial_value=2.0, name="bias")
    return inputs * var + bias


class FixedScalingLayer(tf.keras.layers.Layer):
    """The guide's fix: create the weights once and reuse them."""

    def __init__(self):
        super().__init__()
        self.var = None
        self.bias = None

    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, inputs):
        if self.var is None:
            self.var = tf.Variable(initial_value=2.0)
            self.bias = tf.Variable(initial_value=2.0, name="bias")
        return inputs * self.var + self.bias


fixed_scaling = tf_equiv.Pair(
    tf1=scaling,
    tf2=FixedScalingLayer,
    # The guide's Step 2 troubleshooting: explicit tf.Variables in a Keras layer are named under the
    # layer's name scope in TF2 (fixed_scaling_layer/bias), at the graph's root in TF1 (bias).
    name_map=lambda name: name.replace("fixed_scaling_layer/", ""),
    inputs=lambda: np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype(np.float32),
)
