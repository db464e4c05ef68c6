"""optimizer_steps with learning-rate schedules: TF1 decays with the global step, Keras with
optimizer.iterations. The same schedule passes; a different decay rate fails at step 2, the first
step whose rate differs (step 1 uses the initial rate on both sides)."""
import tensorflow as tf

import tf_equiv
from _models import inputs, mlp, shim


def tf1_sgd(decay_rate=0.5):
    def factory():
        rate = tf.compat.v1.train.exponential_decay(
            0.1, tf.compat.v1.train.get_or_create_global_step(), decay_steps=1,
            decay_rate=decay_rate)
        return tf.compat.v1.train.GradientDescentOptimizer(rate)
    return factory


def tf2_sgd(decay_rate=0.5):
    return lambda: tf.keras.optimizers.SGD(tf.keras.optimizers.schedules.ExponentialDecay(
        0.1, decay_steps=1, decay_rate=decay_rate))


def tf1_adam():
    rate = tf.compat.v1.train.polynomial_decay(
        0.01, tf.compat.v1.train.get_or_create_global_step(), decay_steps=4, end_learning_rate=0.001)
    return tf.compat.v1.train.AdamOptimizer(rate)


def tf2_adam(epsilon=1e-8):
    # TF1's AdamOptimizer defaults to epsilon=1e-8, Keras's Adam to 1e-7: a migration keeps 1e-8.
    return lambda: tf.keras.optimizers.Adam(tf.keras.optimizers.schedules.PolynomialDecay(
        0.01, decay_steps=4, end_learning_rate=0.001), epsilon=epsilon)


decaying = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=inputs, checks=["optimizer_steps"],
                         optimizers=(tf1_sgd(), tf2_sgd()), train_steps=3)
polynomial_adam = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=inputs, checks=["optimizer_steps"],
                                optimizers=(tf1_adam, tf2_adam()), train_steps=4)
keras_default_epsilon = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=inputs,
                                      checks=["optimizer_steps"],
                                      optimizers=(tf1_adam, tf2_adam(1e-7)), train_steps=4)
other_decay_rate = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=inputs, checks=["optimizer_steps"],
                                 optimizers=(tf1_sgd(0.5), tf2_sgd(0.6)), train_steps=3)
