"""A forward function in a package (`nets.mlp:forward`), importing its package relatively."""
import tensorflow as tf

from . import widths


def forward(features, training):
    init = tf.compat.v1.glorot_uniform_initializer()
    net = tf.compat.v1.layers.dense(features, widths.HIDDEN, activation=tf.nn.relu,
                                    name="hidden", kernel_initializer=init)
    net = tf.compat.v1.layers.dropout(net, rate=0.5, training=training)
    return tf.compat.v1.layers.dense(net, 3, name="logits", kernel_initializer=init)
