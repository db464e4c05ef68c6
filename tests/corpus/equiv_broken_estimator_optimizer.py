"""Broken: the model_fn's optimizer migrated with Keras's defaults where they differ from TF1's.

- `rmsprop_defaults`: TF1's RMSPropOptimizer starts its mean square at 1 (epsilon 1e-10), Keras's
  RMSprop at 0 (epsilon 1e-7): the first step differs.
- `momentum_decay`: a MomentumOptimizer on an exponentially decaying rate, migrated to
  SGD(momentum) on the same schedule: TF1 scales its whole accumulator by today's rate, Keras keeps
  each step's rate in its velocity, so the second step differs.
"""
import tensorflow as tf

import tf_equiv
from _iris_estimator import (PARAMS, IrisClassifier, features, labels, mean_cross_entropy, model_fn,
                             tf1_name)


def tf1_decay():
    return tf.compat.v1.train.exponential_decay(
        0.1, tf.compat.v1.train.get_global_step(), decay_steps=1, decay_rate=0.5)


def keras_decay():
    return tf.keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)


def pair(tf1_optimizer, tf2_optimizer):
    return tf_equiv.Pair(
        tf1=tf_equiv.ModelFn(model_fn, labels=labels,
                             params={**PARAMS, "optimizer": tf1_optimizer}),
        tf2=IrisClassifier, inputs=features, loss=mean_cross_entropy,
        optimizers=(None, tf2_optimizer), name_map=tf1_name, checks=["gradients", "optimizer_steps"])


rmsprop_defaults = pair(lambda: tf.compat.v1.train.RMSPropOptimizer(0.01),
                        lambda: tf.keras.optimizers.RMSprop(0.01))
momentum_decay = pair(lambda: tf.compat.v1.train.MomentumOptimizer(tf1_decay(), momentum=0.9),
                      lambda: tf.keras.optimizers.SGD(keras_decay(), momentum=0.9))
