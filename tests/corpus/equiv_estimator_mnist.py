"""A convnet model_fn with batch normalization (model in `_mnist_estimator.py`) as the TF1 side,
its UPDATE_OPS wired into the train_op. Its TRAIN mode normalizes by the batch's statistics, and
so does the Keras model in training mode, which `gradients`, `optimizer_steps` and `training_run`
call (moving statistics included)."""
import tf_equiv
from _mnist_estimator import (
    PARAMS,
    MnistConvNet,
    cross_entropy,
    images,
    keras_adam,
    labels,
    model_fn,
    tf1_name,
)

estimator_mnist = tf_equiv.Pair(
    tf1=tf_equiv.ModelFn(model_fn, labels=labels, params=PARAMS),
    tf2=MnistConvNet,
    inputs=images,
    loss=cross_entropy,
    optimizers=(None, keras_adam),
    train=tf_equiv.Train(steps=10, every=5),
    name_map=tf1_name,
    checks=["variables_*", "constant_inference", "transferred_inference", "random_*",
            "functional_training*", "tf_function", "gradients", "optimizer_steps", "training_run"],
)
