"""A model_fn with dropout (model in `_dropout_estimator.py`) as the TF1 side: its TRAIN mode
drops, so `gradients` and `optimizer_steps` compare it with the Keras model in training mode,
the masks lined up."""
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

estimator_dropout = tf_equiv.Pair(
    tf1=tf_equiv.ModelFn(model_fn, labels=labels, params={"rate": RATE}),
    tf2=DropoutClassifier,
    inputs=features,
    loss=cross_entropy,
    optimizers=(None, keras_adam),
    name_map=tf1_name,
    checks=["transferred_inference", "gradients", "optimizer_steps"],
)
