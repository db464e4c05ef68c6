"""A correct migration whose outputs differ because grappler folds the TF1 graph's constants:
`(x + 1e4) + 1e4 - 2e4` is `x` exactly once folded, but rounds twice when run op by op."""
import tf_equiv
from _model import dense, inputs, shim


def recentered(features, training):
    return ((dense(features, training) + 1e4) + 1e4) - 2e4


folding = tf_equiv.Pair(tf1=recentered, tf2=shim(recentered), inputs=inputs,
                        checks=["transferred_inference"])
