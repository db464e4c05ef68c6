"""Exports a TF1 SavedModel (a dense layer over `features`, unknown batch) to the folder argv[1],
with tf.compat.v1's builder, as TF1 code exported its models."""
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")   # tf.compat.v1.layers live in tf_keras

import tensorflow as tf  # noqa: E402


def main(folder):
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(1)
        features = v1.placeholder(tf.float32, [None, 4], name="features")
        ids = v1.placeholder(tf.int64, [None], name="ids")
        logits = v1.layers.dense(features, 3, name="logits")
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            signature = v1.saved_model.signature_def_utils.predict_signature_def(
                inputs={"features": features, "ids": ids},
                outputs={"logits": logits, "probabilities": tf.nn.softmax(logits)})
            builder = v1.saved_model.Builder(folder)
            builder.add_meta_graph_and_variables(
                sess, ["serve"], signature_def_map={"serving_default": signature})
            builder.save()


if __name__ == "__main__":
    main(sys.argv[1])
