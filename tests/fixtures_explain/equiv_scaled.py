"""Real migration bugs: the TF2 side scales its output with an op TF1 lacks, or by another factor
with the same ops; and one whose explanation cannot finish within the pair's timeout (the TF2 side
hangs once oneDNN is turned off)."""
import os
import time

import tf_equiv
from _model import dense, inputs, shim


def scaled(features, training):
    return dense(features, training) * 1.5


def by(factor):
    """The same ops on both sides, another number: only numeric variations can say it is no
    rounding."""
    def forward(features, training):
        return dense(features, training) * factor
    return forward


def slow_without_onednn(features, training):
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0":
        time.sleep(3600)
    return by(1.5)(features, training)


scaled_pair = tf_equiv.Pair(tf1=dense, tf2=shim(scaled), inputs=inputs,
                            checks=["transferred_inference"])
other_factor = tf_equiv.Pair(tf1=by(1.0), tf2=shim(by(1.5)), inputs=inputs,
                             checks=["transferred_inference"])
slow_explanation = tf_equiv.Pair(tf1=by(1.0), tf2=shim(slow_without_onednn), inputs=inputs,
                                 checks=["transferred_inference"], timeout=40)
