"""A pair whose sides take minutes: the run must still stop at once on a signal."""
import time

import tf_equiv
from _models import inputs, mlp, shim


def slow(features, training):
    time.sleep(600)
    return mlp(features, training)


slow_pair = tf_equiv.Pair(tf1=slow, tf2=shim(slow), inputs=inputs,
                          checks=["variables_match", "transferred_inference"])
