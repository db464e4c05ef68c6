"""Broken: the Keras migration drops half of the hidden units where the model_fn drops a quarter.
Dropout is off in inference, so only the checks in training mode can see it."""
import tf_equiv
from _dropout_estimator import (
    RATE,
    DropoutClassifier,
    cross_entropy,
    features,
    keras_adam,
    labels,
    model_fn,
    tf1_name,
)

broken_estimator_dropout = tf_equiv.Pair(
    tf1=tf_equiv.ModelFn(model_fn, labels=labels, params={"rate": RATE}),
    tf2=lambda: DropoutClassifier(rate=0.5),
    inputs=features,
    loss=cross_entropy,
    optimizers=(None, keras_adam),
    name_map=tf1_name,
    checks=["transferred_inference", "gradients", "optimizer_steps"],
)
