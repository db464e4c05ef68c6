"""Inputs tf-equiv cannot feed: a generator and a plain object."""
import tf_equiv
from _models import mlp, shim

generator_inputs = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=lambda: (i for i in range(3)),
                                 checks=["transferred_inference"])
object_inputs = tf_equiv.Pair(tf1=mlp, tf2=shim(mlp), inputs=lambda: {"x": object()},
                              checks=["transferred_inference"])
