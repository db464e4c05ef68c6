"""tf_slim inception_v3: TF1 graph recorded under one TensorFlow, TF2 shim checked under another."""
import numpy as np

import tf_equiv
from _inception import InceptionV3, tf1_forward

inception = tf_equiv.Pair(
    tf1=tf1_forward, tf2=InceptionV3,
    checks=["variables_match", "transferred_inference", "random_inference[*]"],
    inputs=lambda: np.random.default_rng(0).uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32),
)
