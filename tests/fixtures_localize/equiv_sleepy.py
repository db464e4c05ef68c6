"""A migration whose TF2 model takes a minute to build: localization must give up in time."""
import time

import tf_equiv
from _blocks import inputs, net, shim


def slow_model():
    time.sleep(120)
    return shim(net)()


sleepy = tf_equiv.Pair(tf1=net, tf2=slow_model, inputs=inputs, checks=["transferred_inference"])
