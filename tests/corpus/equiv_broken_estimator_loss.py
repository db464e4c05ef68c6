"""Broken: the migrated loss sums the cross-entropy over the batch, where the model_fn's
`sparse_softmax_cross_entropy` takes its mean (a Keras loss built with reduction=SUM). The forward
pass is right; the gradients are the batch size times too large."""
import tensorflow as tf

import tf_equiv
from _iris_estimator import PARAMS, IrisClassifier, features, keras_adagrad, labels, model_fn, tf1_name


def summed_cross_entropy(labels, outputs):
    return tf.keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction=tf.keras.losses.Reduction.SUM)(labels, outputs["logits"])


broken_estimator_loss = tf_equiv.Pair(
    tf1=tf_equiv.ModelFn(model_fn, labels=labels, params=PARAMS),
    tf2=IrisClassifier,
    inputs=features,
    loss=summed_cross_entropy,
    name_map=tf1_name,
    optimizers=(None, keras_adagrad),
    checks=["gradients", "optimizer_steps"],
)
