"""Broken: the migrated model's dropout rate is 0.5, where the TF1 code dropped 0.25.

A keep probability (slim's dropout_keep_prob, tf.nn.dropout's keep_prob) read as a rate makes the
same kind of mistake; only training mode can show it.
"""
import tf_equiv
from _convnet import ConvNet, convnet, images, tf1_name

broken_dropout = tf_equiv.Pair(
    tf1=convnet,
    tf2=lambda: ConvNet(dropout_rate=0.5),
    inputs=images,
    name_map=tf1_name,
)
