"""The TF2 model raises inside tf.function: the message is TensorFlow's final error line."""
import tensorflow as tf

import tf_equiv
from _models import inputs, mlp, shim


class Traced(tf.keras.layers.Layer):
    def call(self, features, training=None):
        return self.reshape(features)

    @tf.function
    def reshape(self, features):
        return tf.reshape(features, [5, 7])


raises_in_tf_function = tf_equiv.Pair(tf1=mlp, tf2=Traced, inputs=inputs,
                                      checks=["constant_inference"])
