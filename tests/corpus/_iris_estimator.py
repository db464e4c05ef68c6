"""The TF1 Estimator tutorial's custom estimator (TensorFlow's "Creating Custom Estimators" guide,
an iris DNN classifier) and its Keras migration, shared by the correct pair
(equiv_estimator_iris.py) and the broken ones (equiv_broken_estimator_*.py).

The `model_fn` is the tutorial's: numeric feature columns through `input_layer`, hidden
`tf.compat.v1.layers.dense` layers from `params["hidden_units"]`, logits, a predictions dict,
`sparse_softmax_cross_entropy`, accuracy in EVAL, and `AdagradOptimizer(0.1)`. Three changes, each
for the checker: the kernels' initializer is named (the layers' default draws statelessly, which
DeterministicRandomTestTool cannot align); TRAIN returns the predictions too (the training
regimes compare them); and `params["optimizer"]` may replace Adagrad, for the broken optimizer
migrations.
"""
import numpy as np
import tensorflow as tf

FEATURES = ("SepalLength", "SepalWidth", "PetalLength", "PetalWidth")
PARAMS = {"hidden_units": [10, 10], "n_classes": 3}
LEARNING_RATE = 0.1


def features():
    """One batch of iris measurements (cm), a column per feature."""
    rows = np.array([[5.1, 3.5, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5],
                     [4.9, 3.0, 1.4, 0.2], [6.4, 3.2, 4.5, 1.5], [5.8, 2.7, 5.1, 1.9]],
                    np.float32)
    return {name: rows[:, i] for i, name in enumerate(FEATURES)}


def labels():
    return np.array([0, 1, 2, 0, 1, 2], np.int32)


def adagrad():
    return tf.compat.v1.train.AdagradOptimizer(learning_rate=LEARNING_RATE)


def model_fn(features, labels, mode, params):
    """The tutorial's `my_model`."""
    modes = tf.compat.v1.estimator.ModeKeys
    columns = [tf.feature_column.numeric_column(name) for name in FEATURES]
    net = tf.compat.v1.feature_column.input_layer(features, columns)
    init = tf.compat.v1.glorot_uniform_initializer()
    for units in params["hidden_units"]:
        net = tf.compat.v1.layers.dense(net, units=units, activation=tf.nn.relu,
                                        kernel_initializer=init)
    logits = tf.compat.v1.layers.dense(net, params["n_classes"], activation=None,
                                       kernel_initializer=init)
    predicted_classes = tf.argmax(logits, 1)
    predictions = {"class_ids": predicted_classes[:, tf.newaxis],
                   "probabilities": tf.nn.softmax(logits), "logits": logits}
    if mode == modes.PREDICT:
        return tf.compat.v1.estimator.EstimatorSpec(mode, predictions=predictions)
    loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    accuracy = tf.compat.v1.metrics.accuracy(labels=labels, predictions=predicted_classes,
                                             name="acc_op")
    if mode == modes.EVAL:
        return tf.compat.v1.estimator.EstimatorSpec(mode, loss=loss,
                                                    eval_metric_ops={"accuracy": accuracy})
    optimizer = params.get("optimizer", adagrad)()
    train_op = optimizer.minimize(loss, global_step=tf.compat.v1.train.get_global_step())
    return tf.compat.v1.estimator.EstimatorSpec(mode, predictions=predictions, loss=loss,
                                                train_op=train_op)


class IrisClassifier(tf.keras.layers.Layer):
    """The Keras migration: the features concatenated as `input_layer` does (sorted by name), the
    Dense layers named as tf.compat.v1.layers named them (dense, dense_1, ...)."""

    def __init__(self, hidden_units=(10, 10), n_classes=3):
        super().__init__()
        # The TF1 initializer (the same distribution as Keras's GlorotUniform), so that
        # DeterministicRandomTestTool aligns the random checks' draws.
        init = tf.compat.v1.keras.initializers.glorot_uniform()
        names = ["dense"] + [f"dense_{i}" for i in range(1, len(hidden_units) + 1)]
        self.hidden = [tf.keras.layers.Dense(units, activation="relu", name=name,
                                             kernel_initializer=init)
                       for units, name in zip(hidden_units, names)]
        self.logits = tf.keras.layers.Dense(n_classes, name=names[-1], kernel_initializer=init)

    def call(self, features, training=None):
        net = tf.concat([tf.reshape(features[name], (-1, 1)) for name in sorted(FEATURES)],
                        axis=1)
        for layer in self.hidden:
            net = layer(net)
        logits = self.logits(net)
        return {"class_ids": tf.argmax(logits, 1)[:, tf.newaxis],
                "probabilities": tf.nn.softmax(logits), "logits": logits}


def tf1_name(name):
    """The Keras variable's name as the model_fn named it: the layer's own name goes."""
    return name.removeprefix("iris_classifier/")


def mean_cross_entropy(labels, outputs):
    """The TF2 side of the model_fn's loss: the batch mean of the sparse softmax cross-entropy."""
    return tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels,
                                                                           outputs["logits"])


def keras_accuracy():
    """`tf.compat.v1.metrics.accuracy(labels, argmax(logits))` in Keras: the labels against the
    argmax of the logits."""
    return tf.keras.metrics.SparseCategoricalAccuracy()


#: The model_fn's eval_metric_ops, migrated: each key's Keras metric and the output it reads.
METRICS = {"accuracy": (keras_accuracy, "logits")}


def eval_batches():
    """Three batches of (features, labels), as an input_fn's dataset gives them: the batch of
    `features()` in three orders, the labels along."""
    rows, classes = features(), labels()
    for seed in range(3):
        order = np.random.RandomState(seed).permutation(len(classes))
        yield {name: column[order] for name, column in rows.items()}, classes[order]


def keras_adagrad():
    # TF1's AdagradOptimizer divides by sqrt(accumulator), Keras's Adagrad by
    # sqrt(accumulator + epsilon): epsilon=0 makes the steps the same (both accumulators start
    # at 0.1).
    return tf.keras.optimizers.Adagrad(LEARNING_RATE, epsilon=0.0)
