"""Migrations of one network: a wrong block, a tiny early difference that later blocks amplify
past the tolerance, an op TF2 adds after every op TF1 has, and a faithful one."""
import functools

import tf_equiv
from _blocks import inputs, net, shim

CHECKS = ["transferred_inference", "constant_inference"]

# Defect: the migrated block2 uses leaky ReLU's default slope 0.1 instead of 0.2.
wrong_block = tf_equiv.Pair(tf1=net, tf2=shim(functools.partial(net, alpha=0.1)), inputs=inputs,
                            checks=CHECKS)

# Defect: the migrated block1 normalizes with epsilon 5e-6 instead of 1e-6. block1's outputs still
# agree within the tolerance; block2's large weights scale the difference past it.
early_epsilon = tf_equiv.Pair(tf1=net, tf2=shim(functools.partial(net, epsilon=5e-6)),
                              inputs=inputs, checks=CHECKS)

faithful = tf_equiv.Pair(tf1=net, tf2=shim(net), inputs=inputs, checks=CHECKS)


def _offset_logits(images, training):
    return {"logits": net(images, training)["logits"] + 1e-3}


# Defect: the migrated code adds 1e-3 to the logits, after every op TF1 has.
offset_logits = tf_equiv.Pair(tf1=net, tf2=shim(_offset_logits), inputs=inputs, checks=CHECKS)
