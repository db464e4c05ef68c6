"""tf_slim conv + batch_norm: needs both compat fixes under TF 2.16+ and tf_keras."""
import numpy as np
import tensorflow as tf
import tf_slim as slim

import tf_equiv


def tf1_forward(images, training):
    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm,
                        normalizer_params={"is_training": training}):
        net = slim.conv2d(images, 4, [3, 3], scope="conv1")
        return slim.conv2d(net, 2, [3, 3], scope="conv2")


class Migrated(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, images, training=None):
        return tf1_forward(images, bool(training))


batch_norm = tf_equiv.Pair(
    tf1=tf1_forward, tf2=Migrated, checks=["variables_match", "transferred_inference"],
    inputs=lambda: np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32),
)
