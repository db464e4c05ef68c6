"""Export an example's TF1 code as a TF1 SavedModel, as a TF1 serving export does: the forward
pass in a graph and session, its variables at values of their own (here a seeded initialization
standing in for training), written with tf.compat.v1.saved_model.Builder, and in its folder
`expected.npz`, the outputs that session computes for the tests' inputs. Run under any
interpreter (the tests export under TensorFlow 2.21 and 2.15):

    python tests/export_saved_model.py mlp|inception OUT [SIGNATURE [TAG ...]]
    python tests/export_saved_model.py frozen OUT      (the mlp as a frozen GraphDef)
"""
from __future__ import annotations

import os
import sys

import numpy as np

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
#: The inception outputs exported besides the logits, in forward order.
INCEPTION_ENDPOINTS = ("Mixed_5b", "Mixed_6a", "Mixed_7c", "Predictions")


def mlp(tf, features):
    from equiv_mlp import tf1_forward

    return tf1_forward(features, False)


def inception(tf, images):
    from equiv_inception_v3 import tf1_forward

    logits, end_points = tf1_forward(images, False)
    return {"logits": logits, **{k: end_points[k] for k in INCEPTION_ENDPOINTS}}


MODELS = {"mlp": (mlp, "features", (None, 20)), "inception": (inception, "images", (None, 107, 107, 3))}
#: The inputs the tests' pairs feed: the exporting session's outputs for them are `expected.npz`.
INPUTS = {"mlp": lambda: np.random.default_rng(0).normal(size=(4, 20)).astype(np.float32),
          "inception": lambda: np.random.default_rng(0).uniform(-1, 1, (1, 107, 107, 3))
          .astype(np.float32)}


def export(model: str, out: str, signature: str = "serving_default",
           tags: tuple = ("serve",), frozen: bool = False) -> None:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    sys.path.insert(0, EXAMPLES)
    import tensorflow as tf

    from tf_equiv.worker import compat

    compat.apply(True)      # tf_slim under TensorFlow 2.16+, as the checker's workers run it

    forward, name, shape = MODELS[model]
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(7)
        x = tf.compat.v1.placeholder(tf.float32, shape, name=name)
        outputs = forward(tf, x)
        # Exported from a training script's graph: the global step, Adam's slots and its beta
        # powers are saved too, and the signature reads none of them.
        step = tf.compat.v1.train.get_or_create_global_step()
        if model == "mlp" and not frozen:
            objective = tf.reduce_mean(outputs["logits"])
            tf.compat.v1.train.AdamOptimizer(1e-3).minimize(objective, global_step=step)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            # Values no initializer gives (a trained model's): every variable moved a little.
            rng = np.random.default_rng(3)
            for v in tf.compat.v1.trainable_variables():
                value = sess.run(v)
                v.load(value + rng.normal(0, 0.01, value.shape).astype(value.dtype), sess)
            if frozen:
                _freeze(tf, sess, outputs, out)
            else:
                builder = tf.compat.v1.saved_model.Builder(out)
                builder.add_meta_graph_and_variables(sess, list(tags), signature_def_map={
                    signature: tf.compat.v1.saved_model.predict_signature_def({name: x},
                                                                              outputs)})
                builder.save()
            expected = sess.run(outputs, {x: INPUTS[model]()})
    np.savez(os.path.join(out, "expected.npz"), **expected)


def _freeze(tf, sess, outputs: dict, out: str) -> None:
    """OUT/frozen.pb, the graph with its variables made constants (its outputs `<key>_out`),
    and OUT/model.ckpt, the checkpoint it was frozen from."""
    os.makedirs(out)
    names = [tf.identity(t, name=f"{key}_out").op.name for key, t in outputs.items()]
    tf.compat.v1.train.Saver(tf.compat.v1.trainable_variables()).save(
        sess, os.path.join(out, "model.ckpt"))
    graph_def = tf.compat.v1.graph_util.convert_variables_to_constants(
        sess, sess.graph.as_graph_def(), names)
    with open(os.path.join(out, "frozen.pb"), "wb") as f:
        f.write(graph_def.SerializeToString())


if __name__ == "__main__":
    if sys.argv[1] == "frozen":
        export("mlp", sys.argv[2], frozen=True)
    else:
        export(sys.argv[1], sys.argv[2], *sys.argv[3:4], **({"tags": tuple(sys.argv[4:])}
                                                             if len(sys.argv) > 4 else {}))
