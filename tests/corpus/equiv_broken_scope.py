"""Broken: the shim migration wraps the TF1 code in one more variable_scope, and no name_map says
so.

Every variable is renamed (convnet/block1/kernel becomes migrated/convnet/block1/kernel), so a TF1
checkpoint no longer restores by name. The checker must name the renames and suggest the name_map.
"""
import tensorflow as tf

import tf_equiv
from _convnet import convnet, images


class Migrated(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, images, training=None):
        with tf.compat.v1.variable_scope("migrated"):
            return convnet(images, bool(training))


broken_scope = tf_equiv.Pair(tf1=convnet, tf2=Migrated, inputs=images)
