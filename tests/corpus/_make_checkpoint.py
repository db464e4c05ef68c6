"""Write ckpt/tf1-ckpt, the TF1 name-based checkpoint of equiv_checkpoint_rename.py's `linear`.

Run from anywhere: `.venv/bin/python tests/corpus/_make_checkpoint.py`. As the migrating_checkpoints
guide does, the TF1 program builds its variables in a graph, gives them values and saves them with
`tf1.train.Saver` (names `a`, `b`, `scoped/c`).
"""
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from equiv_checkpoint_rename import CHECKPOINT, linear  # noqa: E402


def main():
    rng = np.random.default_rng(7)
    with tf.Graph().as_default():
        linear(tf.compat.v1.placeholder(tf.float32, (None, 6)), False)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            # Trained values, not the initial ones: a restore that silently kept the initializers
            # would not match.
            for v in tf.compat.v1.global_variables():
                shape = v.shape.as_list()
                sess.run(v.assign(rng.normal(size=shape).astype(np.float32)))
            path = tf.compat.v1.train.Saver().save(sess, os.path.join(HERE, CHECKPOINT),
                                                   write_meta_graph=False, write_state=False)
    print(path)


if __name__ == "__main__":
    main()
