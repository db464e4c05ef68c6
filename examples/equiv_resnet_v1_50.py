"""tf_slim's ResNet-50 v1, migrated with the modeling shim."""
import numpy as np
import tensorflow as tf
import tf_slim as slim
from tf_slim.nets import resnet_v1

import tf_equiv


def tf1_forward(images, training):
    with slim.arg_scope(resnet_v1.resnet_arg_scope()):
        return resnet_v1.resnet_v1_50(images, num_classes=1000, is_training=training)


class ResNet50(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, images, training=None):
        return tf1_forward(images, bool(training))


resnet = tf_equiv.Pair(
    tf1=tf1_forward,
    tf2=ResNet50,
    inputs=lambda: np.random.default_rng(0).uniform(-1, 1, (2, 128, 128, 3)).astype(np.float32),
    loss=lambda outputs: tf.reduce_mean(outputs[0]),
    tolerances={"gradients/*": (1e-3, 1e-5)},
)
