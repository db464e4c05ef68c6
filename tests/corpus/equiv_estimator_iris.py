"""The TF1 Estimator tutorial's custom iris classifier (model in `_iris_estimator.py`) as the TF1
side, its `model_fn` itself: PREDICT for the inference checks, TRAIN for the training checks,
whose step is the spec's own Adagrad train_op, EVAL for `eval_metrics` (its accuracy against
Keras's SparseCategoricalAccuracy on the logits, on the pair's batch or on three batches). Needs TensorFlow <= 2.15 for the TF1 side
(`--tf1-python`); under a newer one its two-sided checks are skipped, saying why."""
import tf_equiv
from _iris_estimator import (
    METRICS,
    PARAMS,
    IrisClassifier,
    eval_batches,
    features,
    keras_adagrad,
    labels,
    mean_cross_entropy,
    model_fn,
    tf1_name,
)

estimator_iris = tf_equiv.Pair(
    tf1=tf_equiv.ModelFn(model_fn, labels=labels, params=PARAMS),
    tf2=IrisClassifier,
    inputs=features,
    loss=mean_cross_entropy,
    name_map=tf1_name,
    optimizers=(None, keras_adagrad),
    metrics=METRICS,
)

estimator_iris_batches = tf_equiv.Pair(
    tf1=tf_equiv.ModelFn(model_fn, labels=labels, params=PARAMS),
    tf2=IrisClassifier,
    inputs=features,
    loss=mean_cross_entropy,
    name_map=tf1_name,
    optimizers=(None, keras_adagrad),
    train=tf_equiv.Train(steps=3, batches=eval_batches),
    metrics=METRICS,
    checks=["eval_metrics"],
)
