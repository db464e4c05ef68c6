"""examples/equiv_mlp.py's training run, with as many steps as BENCH_TRAIN_STEPS says (bench/training
measures how time and memory grow with the steps)."""
import os
import sys

import tf_equiv

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from equiv_mlp import Classifier, batches, loss, tf1_forward, tf1_optimizer, tf2_optimizer  # noqa: E402

STEPS = int(os.environ.get("BENCH_TRAIN_STEPS", "100"))

mlp = tf_equiv.Pair(
    tf1=tf1_forward, tf2=Classifier,
    inputs=lambda: next(iter(batches())), loss=loss,
    optimizers=(tf1_optimizer, tf2_optimizer),
    checks=["training_run"],
    train=tf_equiv.Train(steps=STEPS, batches=batches, every=10),
)
