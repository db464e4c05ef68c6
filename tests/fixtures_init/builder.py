"""TF1 code that makes its own inputs: a build function of no tensors, its placeholders named."""
import tensorflow.compat.v1 as tf


def build(training=False):
    features = tf.placeholder(tf.float32, [None, 6], name="features")
    scale = tf.placeholder(tf.float32, [None, 1], name="scale")
    init = tf.glorot_uniform_initializer()
    hidden = tf.layers.dense(features, 4, activation=tf.nn.relu, name="hidden",
                             kernel_initializer=init)
    return tf.layers.dense(hidden * scale, 2, name="logits", kernel_initializer=init)


def build_unknown():
    """A placeholder whose feature dimension its code does not say."""
    tokens = tf.placeholder(tf.float32, [None, None], name="tokens")
    return tf.reduce_sum(tokens, axis=1)
