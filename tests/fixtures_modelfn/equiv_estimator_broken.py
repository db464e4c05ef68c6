"""Broken migrations of examples/equiv_estimator.py's model_fn: each differs from the TF1
program in one thing a Keras migration easily gets wrong."""
import os
import sys

import tensorflow as tf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "examples"))
import equiv_estimator as example  # noqa: E402

import tf_equiv  # noqa: E402


def sum_loss(labels, outputs):
    """The mean squared error summed over the batch, not averaged as the model_fn's."""
    return tf.reduce_sum(tf.square(outputs - labels))


def keras_adagrad_defaults():
    """Keras's Adagrad with its accumulator started elsewhere than TF1's 0.1."""
    return tf.keras.optimizers.Adagrad(example.LEARNING_RATE, initial_accumulator_value=0.01)


MODEL_FN = tf_equiv.ModelFn(example.model_fn, labels=lambda: example.first_batch()[1])

loss_summed = tf_equiv.Pair(
    tf1=MODEL_FN, tf2=example.keras_model, inputs=lambda: example.first_batch()[0],
    checks=["gradients", "optimizer_steps"], loss=sum_loss,
    optimizers=(None, example.keras_optimizer))
accumulator_differs = tf_equiv.Pair(
    tf1=MODEL_FN, tf2=example.keras_model, inputs=lambda: example.first_batch()[0],
    checks=["gradients", "optimizer_steps"], loss=tf.keras.losses.MeanSquaredError(),
    optimizers=(None, keras_adagrad_defaults))
