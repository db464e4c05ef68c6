"""A pair whose inputs depend on the environment: the same source can give other inputs."""
import os

import numpy as np

import tf_equiv
from _models import mlp, shim

scaled = tf_equiv.Pair(
    tf1=mlp, tf2=shim(mlp), checks=["variables_match", "transferred_inference"],
    inputs=lambda: np.full((2, 6), float(os.environ.get("TF_EQUIV_TEST_SCALE", "1")), np.float32),
)
