"""The tutorial's iris model_fn (`_iris_estimator.py`) with its EVAL accuracy migrated wrongly,
and with metrics that do not name its eval_metric_ops: `eval_metrics` fails at the metric's
record, or is an error naming the keys."""
import tensorflow as tf
import tf_equiv
from _iris_estimator import (
    PARAMS,
    IrisClassifier,
    features,
    keras_accuracy,
    labels,
    mean_cross_entropy,
    model_fn,
    tf1_name,
)


def top_k_accuracy():
    # The wrong Keras metric for tf.compat.v1.metrics.accuracy: a label among the 5 highest
    # logits counts (every label of 3 classes), where the accuracy counts only the highest.
    return tf.keras.metrics.SparseTopKCategoricalAccuracy()


top_k_metric = tf_equiv.Pair(
    tf1=tf_equiv.ModelFn(model_fn, labels=labels, params=PARAMS),
    tf2=IrisClassifier,
    inputs=features,
    loss=mean_cross_entropy,
    name_map=tf1_name,
    metrics={"accuracy": (top_k_accuracy, "logits")},
    checks=["eval_metrics"],
)

misnamed_metric = tf_equiv.Pair(
    tf1=tf_equiv.ModelFn(model_fn, labels=labels, params=PARAMS),
    tf2=IrisClassifier,
    inputs=features,
    loss=mean_cross_entropy,
    name_map=tf1_name,
    metrics={"acc": (keras_accuracy, "logits")},
    checks=["eval_metrics"],
)
