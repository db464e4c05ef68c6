"""The classic training-migration traps, each one step that computes something else: momentum
with a decaying rate, RMSProp's defaults, gradient clipping dropped, weight decay dropped, a
staircase schedule made smooth; and the correct migrations of the last three beside them."""
import tensorflow as tf

import tf_equiv
from _models import batches, inputs, loss, net, shim

train = tf_equiv.Train(steps=30, batches=batches, every=10)
CLIP = 0.05


def pair(tf2=None, *, optimizers):
    return tf_equiv.Pair(tf1=net, tf2=tf2 or shim(net), inputs=inputs, loss=loss,
                         optimizers=optimizers, train=train, checks=["training_run"])


def tf1_decay(staircase=False):
    return tf.compat.v1.train.exponential_decay(
        0.05, tf.compat.v1.train.get_or_create_global_step(), decay_steps=10, decay_rate=0.5,
        staircase=staircase)


def keras_decay(staircase=False):
    return tf.keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=10, decay_rate=0.5,
                                                          staircase=staircase)


# TF1 scales the whole accumulator by today's rate, Keras keeps each step's rate in it: with a
# rate that changes, the second step already differs.
momentum_decay = pair(optimizers=(
    lambda: tf.compat.v1.train.MomentumOptimizer(tf1_decay(), momentum=0.9),
    lambda: tf.keras.optimizers.SGD(keras_decay(), momentum=0.9)))

# TF1's RMSProp starts its accumulator at 1 (epsilon 1e-10), Keras's at 0 (epsilon 1e-7): the
# first step differs.
rmsprop_defaults = pair(optimizers=(lambda: tf.compat.v1.train.RMSPropOptimizer(0.01),
                                    lambda: tf.keras.optimizers.RMSprop(0.01)))


class ClippedSGD(tf.compat.v1.train.GradientDescentOptimizer):
    """A TF1 training script's clipping: the gradients' global norm capped before the update."""

    def compute_gradients(self, *args, **kwargs):
        pairs = super().compute_gradients(*args, **kwargs)
        clipped, _ = tf.clip_by_global_norm([g for g, _ in pairs], CLIP)
        return list(zip(clipped, [v for _, v in pairs]))


clipping_kept = pair(optimizers=(lambda: ClippedSGD(0.05),
                                 lambda: tf.keras.optimizers.SGD(0.05, global_clipnorm=CLIP)))
clipping_dropped = pair(optimizers=(lambda: ClippedSGD(0.05),
                                    lambda: tf.keras.optimizers.SGD(0.05)))

SGD = (lambda: tf.compat.v1.train.GradientDescentOptimizer(0.05),
       lambda: tf.keras.optimizers.SGD(0.05))
# The migrated layers lose their kernel_regularizer: the first loss lacks the L2 term.
weight_decay_dropped = pair(shim(net, weight_decay=0.0), optimizers=SGD)

staircase_kept = pair(optimizers=(
    lambda: tf.compat.v1.train.GradientDescentOptimizer(tf1_decay(staircase=True)),
    lambda: tf.keras.optimizers.SGD(keras_decay(staircase=True))))
# The rate decays at every step in TF2, every 10 in TF1: the second step's rate differs.
staircase_dropped = pair(optimizers=(
    lambda: tf.compat.v1.train.GradientDescentOptimizer(tf1_decay(staircase=True)),
    lambda: tf.keras.optimizers.SGD(keras_decay())))
