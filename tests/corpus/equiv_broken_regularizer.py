"""Broken: the migrated classifier layer lost its L2 kernel regularizer.

The forward pass is unchanged; only the regularization loss (and so the gradients of the training
objective) differ.
"""
import tf_equiv
from _convnet import ConvNet, convnet, images, tf1_name

broken_regularizer = tf_equiv.Pair(
    tf1=convnet,
    tf2=lambda: ConvNet(logits_l2=None),
    inputs=images,
    name_map=tf1_name,
)
