"""A training-equivalence check written by hand, as a notebook following the migration guide would:
one process; the TF1 model trained `steps` Adam steps in a session on the batches, under
DeterministicRandomTestTool; the TF2 model given TF1's initial values and trained the same steps
eagerly under the tool; the two loss curves compared with assert_allclose. No noise band, no
records, no bisection: what bench/training measures tf-equiv's training_run against.

    .venv/bin/python bench/baseline_training.py STEPS
"""
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from equiv_mlp import Classifier, batches, loss, tf1_forward  # noqa: E402


def data(steps):
    out = []
    while len(out) < steps:
        out.extend(batches())
    return out[:steps]


def tf1_run(steps, feed):
    tool = tf.compat.v1.keras.utils.DeterministicRandomTestTool(mode="num_random_ops")
    with tool.scope():
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, feed[0].shape)
            outputs = tf1_forward(x, training=True)
            total = loss(outputs) + tf.compat.v1.losses.get_regularization_loss()
            step = tf.compat.v1.train.AdamOptimizer(1e-3).minimize(total)
            with tf.compat.v1.Session(graph=graph) as sess:
                sess.run(tf.compat.v1.global_variables_initializer())
                start = {v.name: sess.run(v) for v in tf.compat.v1.global_variables()}
                losses = [sess.run([total, step], {x: b})[0] for b in feed]
    return start, np.array(losses)


def tf2_run(start, feed):
    tool = tf.compat.v1.keras.utils.DeterministicRandomTestTool(mode="num_random_ops")
    with tool.scope():
        model = Classifier()
        model(feed[0], training=False)
        for v in model.variables:
            v.assign(start[v.name])
        optimizer = tf.keras.optimizers.Adam(1e-3, epsilon=1e-8)
        losses = []
        for b in feed:
            with tf.GradientTape() as tape:
                total = loss(model(b, training=True)) + tf.add_n(model.losses)
            grads = tape.gradient(total, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            losses.append(float(total))
    return np.array(losses)


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    feed = data(steps)
    start, tf1 = tf1_run(steps, feed)
    tf2 = tf2_run(start, feed)
    try:
        np.testing.assert_allclose(tf2, tf1, rtol=1e-4)
        print(f"losses agree over {steps} steps")
    except AssertionError as e:
        print(f"losses differ over {steps} steps: {str(e).splitlines()[3:6]}")


if __name__ == "__main__":
    main()
