"""The TF1 code starts a process of its own, and the migration is wrong: the explanation and
localization workers that run it again must not leave that process behind either."""
import subprocess

import tf_equiv
from _models import inputs, mlp, shim


def spawning(features, training):
    subprocess.Popen(["sleep", "4322"])
    return mlp(features, training)


def scaled(features, training):
    out = mlp(features, training)
    return {"hidden": out["hidden"], "logits": out["logits"] * 1.5}


spawns_and_fails = tf_equiv.Pair(tf1=spawning, tf2=shim(scaled), inputs=inputs,
                                 checks=["transferred_inference"])
