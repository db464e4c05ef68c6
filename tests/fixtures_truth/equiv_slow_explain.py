"""A pair that fails at once and whose explanation re-runs (oneDNN off) take minutes: a signal
during the explanation must still stop the run at once."""
import os
import time

import tf_equiv
from _models import inputs, mlp, shim


def scaled(factor):
    """The same ops on both sides, another factor: the explanation tries oneDNN off."""
    def forward(features, training):
        if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0":
            time.sleep(600)
        out = mlp(features, training)
        return {"hidden": out["hidden"], "logits": out["logits"] * factor}
    return forward


reference, migrated = scaled(1.0), scaled(1.5)


slow_explain = tf_equiv.Pair(tf1=reference, tf2=shim(migrated), inputs=inputs,
                             checks=["variables_match", "transferred_inference"])
