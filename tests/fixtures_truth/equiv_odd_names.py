"""Pairs declared under names that are not identifiers, which must never become paths."""
import tf_equiv
from _models import inputs, mlp, shim

globals()["/tf-equiv-escape"] = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=inputs)
globals()["../tf-equiv-up"] = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=inputs)


def make():
    globals()["fine"] = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=inputs,
                                      checks=["variables_match"])


make()
