"""training_run with bad batches and a run that diverges on both sides: each says what is wrong,
and the pair's other checks still run."""
import numpy as np
import tensorflow as tf

import tf_equiv
from _models import inputs, loss, net, shim

CHECKS = ["transferred_inference", "training_run"]
SGD = (lambda: tf.compat.v1.train.GradientDescentOptimizer(0.05),
       lambda: tf.keras.optimizers.SGD(0.05))


def raising():
    raise ValueError("the dataset is not mounted")


def wrong_shape():
    yield np.zeros((8, 9), np.float32)


raising_batches = tf_equiv.Pair(tf1=net, tf2=shim(net), inputs=inputs, loss=loss, checks=CHECKS,
                                optimizers=SGD, train=tf_equiv.Train(steps=5, batches=raising))
wrong_batch_shape = tf_equiv.Pair(tf1=net, tf2=shim(net), inputs=inputs, loss=loss, checks=CHECKS,
                                  optimizers=SGD, train=tf_equiv.Train(steps=5, batches=wrong_shape))
no_batches = tf_equiv.Pair(tf1=net, tf2=shim(net), inputs=inputs, loss=loss, checks=CHECKS,
                           optimizers=SGD, train=tf_equiv.Train(steps=5, batches=lambda: []))
# A learning rate that overflows the weights on both sides: nothing after it is compared.
diverges = tf_equiv.Pair(tf1=net, tf2=shim(net), inputs=inputs, loss=loss, checks=CHECKS,
                         optimizers=(lambda: tf.compat.v1.train.GradientDescentOptimizer(1e30),
                                     lambda: tf.keras.optimizers.SGD(1e30)),
                         train=tf_equiv.Train(steps=5))


def unseeded():
    """Batches from the operating system's entropy: other arrays at every call of the factory."""
    rng = np.random.default_rng()
    for _ in range(3):
        yield rng.normal(size=(16, 8)).astype(np.float32)


# Both sides train on the batches the TF1 run drew, so the comparison holds; the oneDNN-off noise
# run, which draws its own, would measure other batches, not noise: it is left out, and said so.
unseeded_batches = tf_equiv.Pair(tf1=net, tf2=shim(net), inputs=inputs, loss=loss,
                                 checks=["training_run"], optimizers=SGD,
                                 train=tf_equiv.Train(steps=6, batches=unseeded, every=3))


class EagerOnly(shim(net)):
    """A migration that still reads a value eagerly in its call: it cannot be traced."""

    def call(self, features, training=None):
        if float(tf.reduce_max(tf.abs(features)).numpy()) == 0.0:
            raise ValueError("an all-zero batch")
        return super().call(features, training=training)


# Its training step cannot be traced: it runs eagerly, random numbers still lined up, and passes.
eager_only = tf_equiv.Pair(tf1=net, tf2=EagerOnly, inputs=inputs, loss=loss,
                           checks=["training_run"], optimizers=SGD,
                           train=tf_equiv.Train(steps=6, every=3))
