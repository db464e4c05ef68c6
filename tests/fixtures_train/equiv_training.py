"""training_run: correct migrations trained for 120 steps, and four wrong ones."""
import tensorflow as tf

import tf_equiv
from _models import batches, inputs, loss, net, shim

STEPS = 120
train = tf_equiv.Train(steps=STEPS, batches=batches, every=10)


def tf1_momentum():
    return tf.compat.v1.train.MomentumOptimizer(0.05, momentum=0.9)


def tf2_momentum():
    return tf.keras.optimizers.SGD(0.05, momentum=0.9)


def tf1_adam():
    rate = tf.compat.v1.train.exponential_decay(
        0.01, tf.compat.v1.train.get_or_create_global_step(), decay_steps=10, decay_rate=0.8)
    return tf.compat.v1.train.AdamOptimizer(rate)


class Shifted(tf.keras.optimizers.schedules.LearningRateSchedule):
    """A schedule read `offset` steps ahead: a migration that counts steps from 1, not 0."""

    def __init__(self, inner, offset):
        self.inner, self.offset = inner, offset

    def __call__(self, step):
        return self.inner(step + self.offset)


def tf2_adam(epsilon=1e-8, offset=0):
    def factory():
        rate = tf.keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=10,
                                                              decay_rate=0.8)
        return tf.keras.optimizers.Adam(Shifted(rate, offset) if offset else rate,
                                        epsilon=epsilon)
    return factory


def small_loss(logits):
    """The loss at a scale where Adam's epsilon matters (gradients of about 1e-5), as it does
    late in a real training run; Adam's steps do not depend on the scale otherwise."""
    return 1e-4 * loss(logits)


def pair(tf2=None, optimizers=(tf1_momentum, tf2_momentum), **kw):
    return tf_equiv.Pair(tf1=net, tf2=tf2 or shim(net), inputs=inputs, loss=kw.pop("loss", loss),
                         optimizers=optimizers, train=kw.pop("train", train),
                         checks=["training_run"], **kw)


def adam(tf2_optimizer, tf1_optimizer=tf1_adam, **kw):
    return pair(optimizers=(tf1_optimizer, tf2_optimizer), loss=small_loss, **kw)


momentum = pair()
adam_decay = adam(tf2_adam())
adam_epsilon = adam(tf2_adam(epsilon=1e-7))
schedule_off_by_one = adam(tf2_adam(offset=1))
learning_rate_1e3 = pair(optimizers=(tf1_momentum, lambda: tf.keras.optimizers.SGD(
    0.05 * (1 + 1e-3), momentum=0.9)))
regularizer_twice = pair(tf2=shim(net, extra_l2=True))
bn_momentum = pair(tf2=shim(net, bn_momentum=0.9))


def tf1_piecewise():
    rate = tf.compat.v1.train.piecewise_constant(
        tf.compat.v1.train.get_or_create_global_step(), [50], [0.01, 0.002])
    return tf.compat.v1.train.AdamOptimizer(rate)


def tf2_piecewise(boundary):
    return lambda: tf.keras.optimizers.Adam(tf.keras.optimizers.schedules.PiecewiseConstantDecay(
        [boundary], [0.01, 0.002]), epsilon=1e-8)


# The rate drops after step 51 (global step 50) in TF1, one step later in TF2: step 52 is the
# first wrong one, and the loss of step 53 the first that shows it.
piecewise = adam(tf2_piecewise(50), tf1_piecewise)
piecewise_boundary_off_by_one = adam(tf2_piecewise(51), tf1_piecewise)
