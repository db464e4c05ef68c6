"""The TF1 code starts a process of its own that would outlive the run."""
import subprocess

import tf_equiv
from _models import inputs, mlp, shim


def spawning(features, training):
    subprocess.Popen(["sleep", "4321"])
    return mlp(features, training)


spawns = tf_equiv.Pair(tf1=spawning, tf2=shim(mlp), inputs=inputs, checks=["variables_match"])
