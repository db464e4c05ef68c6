"""training_run with tf1=ModelFn: examples/equiv_estimator.py's model_fn trained by its own
train_op on its input_fn's (features, labels) batches, two batches that alternate, against the
Keras migration; a migration whose Adagrad starts its accumulator elsewhere; and batches without
labels."""
import os
import sys

import tensorflow as tf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "examples"))
import equiv_estimator as example  # noqa: E402

import tf_equiv  # noqa: E402

MODEL_FN = tf_equiv.ModelFn(example.model_fn, labels=lambda: example.first_batch()[1])
TRAIN = tf_equiv.Train(steps=20, every=5, batches=example.input_fn)


def accumulator_at_0_01():
    """Keras's Adagrad with its accumulator started at 0.01, TF1's AdagradOptimizer's at 0.1."""
    return tf.keras.optimizers.Adagrad(example.LEARNING_RATE, initial_accumulator_value=0.01,
                                       epsilon=0.0)


def features_only():
    """The input_fn's features without their labels."""
    return example.input_fn().map(lambda features, labels: features)


def pair(optimizer, train=TRAIN):
    return tf_equiv.Pair(tf1=MODEL_FN, tf2=example.keras_model,
                         inputs=lambda: example.first_batch()[0], checks=["training_run"],
                         loss=tf.keras.losses.MeanSquaredError(), optimizers=(None, optimizer),
                         train=train)


trained = pair(example.keras_optimizer)
accumulator_differs = pair(accumulator_at_0_01)
no_labels = pair(example.keras_optimizer, tf_equiv.Train(steps=20, batches=features_only))
