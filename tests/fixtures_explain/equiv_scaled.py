"""A real migration bug (the TF2 side scales its output), and one whose explanation cannot finish
within the pair's timeout (the TF2 side hangs once oneDNN is turned off)."""
import os
import time

import tf_equiv
from _model import dense, inputs, shim


def scaled(features, training):
    return dense(features, training) * 1.5


def slow_without_onednn(features, training):
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0":
        time.sleep(3600)
    return scaled(features, training)


scaled_pair = tf_equiv.Pair(tf1=dense, tf2=shim(scaled), inputs=inputs,
                            checks=["transferred_inference"])
slow_explanation = tf_equiv.Pair(tf1=dense, tf2=shim(slow_without_onednn), inputs=inputs,
                                 checks=["transferred_inference"], timeout=40)
