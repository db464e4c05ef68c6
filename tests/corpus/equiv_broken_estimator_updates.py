"""Broken: the model_fn's train_op does not run the batch-norm updates (no control_dependencies on
UPDATE_OPS), so its moving statistics never move, while the Keras migration's do, in its call."""
import tf_equiv
from _mnist_estimator import (
    MnistConvNet,
    cross_entropy,
    images,
    keras_adam,
    labels,
    model_fn,
    tf1_name,
)

broken_estimator_updates = tf_equiv.Pair(
    tf1=tf_equiv.ModelFn(model_fn, labels=labels, params={"wire_update_ops": False}),
    tf2=MnistConvNet,
    inputs=images,
    loss=cross_entropy,
    optimizers=(None, keras_adam),
    train=tf_equiv.Train(steps=10, every=5),
    name_map=tf1_name,
    checks=["training_run"],
)
