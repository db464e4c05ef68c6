"""One small pair with every default check: the fixed cost of a pair."""
from _two_layer import TwoLayer, inputs, tf1_forward

import tf_equiv

two_layer = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs)
