"""An Estimator program and its Keras migration, as TensorFlow's guide "Migrate from Estimator to
Keras APIs" has them: a `model_fn` built with tf.compat.v1.layers and trained by
AdagradOptimizer(0.05) on a mean squared error, its `input_fn` a tf.data dataset of
(features, labels); the migration a tf.keras model trained by Keras's Adagrad.

The TF1 side is the model_fn itself (tf_equiv.ModelFn): PREDICT for the inference checks, TRAIN
for the training checks, whose optimizer step is the spec's own train_op; `training_run` trains
both sides on the input_fn's (features, labels) batches, as Estimator.train and Model.fit would
take them. tf.estimator exists
only in TensorFlow <= 2.15: under a newer TensorFlow the checks that need the TF1 side are
skipped with that reason; record the TF1 side under 2.15 and check against it:

    tf-equiv record examples/equiv_estimator.py --side tf1 --out DIR --python PY215
    tf-equiv check examples/equiv_estimator.py --against DIR
"""
import numpy as np
import tensorflow as tf

import tf_equiv

LEARNING_RATE = 0.05


def input_fn():
    """The training data: a dataset of (features, labels) batches."""
    features = np.array([[1.0, 1.5], [2.0, 2.5], [3.0, 3.5], [4.0, 4.5]], np.float32)
    labels = np.array([[0.3], [0.5], [0.7], [0.9]], np.float32)
    return tf.data.Dataset.from_tensor_slices((features, labels)).batch(2).repeat()


def model_fn(features, labels, mode):
    """The legacy TF1.x model: one hidden layer and a linear output."""
    modes = tf.compat.v1.estimator.ModeKeys
    # dense's default kernel initializer draws statelessly, which DeterministicRandomTestTool
    # cannot align with TF2's draws; the same distribution, named, aligns.
    init = tf.compat.v1.glorot_uniform_initializer()
    hidden = tf.compat.v1.layers.dense(features, 8, activation=tf.nn.relu, name="hidden",
                                       kernel_initializer=init)
    predictions = tf.compat.v1.layers.dense(hidden, 1, name="logits", kernel_initializer=init)
    if mode == modes.PREDICT:
        return tf.compat.v1.estimator.EstimatorSpec(mode, predictions=predictions)
    loss = tf.compat.v1.losses.mean_squared_error(labels=labels, predictions=predictions)
    optimizer = tf.compat.v1.train.AdagradOptimizer(LEARNING_RATE)
    train_op = optimizer.minimize(loss, global_step=tf.compat.v1.train.get_global_step())
    return tf.compat.v1.estimator.EstimatorSpec(mode, predictions=predictions, loss=loss,
                                                train_op=train_op)


def keras_model():
    """The TF2 model: the same layers, named as the model_fn names its scopes."""
    # Keras's own GlorotUniform draws with a stateless op, which DeterministicRandomTestTool
    # cannot align with TF1's draws: while validating, the TF1 initializer (the same
    # distribution) keeps the random_* checks exact.
    init = tf.compat.v1.keras.initializers.glorot_uniform()
    return tf.keras.Sequential([
        tf.keras.layers.Dense(8, activation="relu", name="hidden", kernel_initializer=init),
        tf.keras.layers.Dense(1, name="logits", kernel_initializer=init)])


def keras_optimizer():
    # TF1's AdagradOptimizer divides by sqrt(accumulator) with no epsilon, its accumulator
    # starting at 0.1; Keras's Adagrad adds epsilon=1e-7 to the root. Both set here to match.
    return tf.keras.optimizers.Adagrad(LEARNING_RATE, initial_accumulator_value=0.1, epsilon=0.0)


def first_batch():
    """The input_fn's first (features, labels) batch, as numpy arrays."""
    features, labels = next(iter(input_fn()))
    return features.numpy(), labels.numpy()


estimator = tf_equiv.Pair(
    tf1=tf_equiv.ModelFn(model_fn, labels=lambda: first_batch()[1]),
    tf2=keras_model,
    inputs=lambda: first_batch()[0],
    loss=tf.keras.losses.MeanSquaredError(),
    optimizers=(None, keras_optimizer),
    train=tf_equiv.Train(steps=30, batches=input_fn),
)
