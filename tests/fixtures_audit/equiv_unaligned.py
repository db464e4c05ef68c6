"""Random draws DeterministicRandomTestTool cannot align: a seeded tf.keras initializer, and a
tf.random.Generator dropout mask, where the TF1 code draws with stateful ops."""
import tensorflow as tf

import tf_equiv
from _models import inputs, mlp, shim


def keras_initializer(features, training):
    return mlp(features, training, initializer=tf.keras.initializers.GlorotUniform(seed=1))


seeded_keras_initializer = tf_equiv.Pair(tf1=mlp, tf2=shim(keras_initializer), inputs=inputs)


def generator_dropout(features, training):
    with tf.compat.v1.variable_scope("encoder"):
        init = tf.compat.v1.glorot_uniform_initializer()
        hidden = tf.compat.v1.layers.dense(features, 16, activation=tf.nn.relu, name="hidden",
                                           kernel_initializer=init)
        if training:
            keep = tf.random.Generator.from_seed(7).uniform(tf.shape(hidden)) >= 0.3
            hidden_dropped = tf.where(keep, hidden / 0.7, 0.0)
        else:
            hidden_dropped = hidden
        logits = tf.compat.v1.layers.dense(hidden_dropped, 4, name="logits",
                                           kernel_initializer=init)
    return {"hidden": hidden, "logits": logits}


generator = tf_equiv.Pair(tf1=mlp, tf2=shim(generator_dropout), inputs=inputs,
                          checks=["random_training[*]"])
