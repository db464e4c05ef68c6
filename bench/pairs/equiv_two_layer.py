"""One small pair with every default check: the fixed cost of a pair."""
import tf_equiv
from _two_layer import TwoLayer, inputs, tf1_forward

two_layer = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs)
