"""tf_slim inception_v3 forward passes, TF1 graph recorded under one TensorFlow, TF2 shim under another."""
import numpy as np
import tensorflow as tf
import tf_slim as slim
from tf_slim.nets import inception_v3

import tf_equiv


def tf1_forward(images, training):
    with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
        return inception_v3.inception_v3(images, num_classes=10, is_training=training)


class InceptionV3(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, images, training=None):
        return tf1_forward(images, bool(training))


inception = tf_equiv.Pair(
    tf1=tf1_forward, tf2=InceptionV3,
    checks=["variables_match", "transferred_inference", "random_inference[*]"],
    inputs=lambda: np.random.default_rng(0).uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32),
)
