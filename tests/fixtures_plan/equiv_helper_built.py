"""Defects: pairs built by a helper function, each with one bad field, beside a good pair that must
still run. None of the bad ones is a `name = Pair(...)` statement the source reading can see."""
import tf_equiv
from _models import Dense, dense, inputs

good = tf_equiv.Pair(tf1=dense, tf2=Dense, inputs=inputs, checks=["variables_match"])


def P(**fields):
    return tf_equiv.Pair(tf1=dense, tf2=Dense, inputs=inputs, **fields)


bad_rtol = P(rtol="tight", checks=["variables_match"])
negative_steps = P(train=tf_equiv.Train(steps=-1), checks=["variables_match"])
misspelt_field = P(tolerence={}, checks=["variables_match"])
bad_tolerances = P(tolerances="tight", checks=["variables_match"])
misspelt_check = P(checks=["constant_inferense"])
string_checks = P(checks="variables_match")
no_checks = P(checks=[])
for name in ("looped",):
    globals()[name] = P(checks=["variables_match"])
globals()["not-a-name"] = P(checks=["variables_match"])
