"""Broken: the native Keras migration uses ReLU in block2, where the TF1 code had a leaky ReLU.

The usual slip when a config lists activations by name and one of them is not 'relu'.
"""
import tensorflow as tf

import tf_equiv
from _convnet import ConvNet, convnet, images, tf1_name

broken_activation = tf_equiv.Pair(
    tf1=convnet,
    tf2=lambda: ConvNet(activations=(tf.nn.relu, tf.nn.relu, tf.nn.relu)),
    inputs=images,
    name_map=tf1_name,
)
