"""Defects: `checks` written as a literal that selects nothing, beside a good pair that must still
run."""
import tf_equiv
from _models import Dense, dense, inputs

good = tf_equiv.Pair(tf1=dense, tf2=Dense, inputs=inputs, checks=["variables_match"])
misspelt_check = tf_equiv.Pair(tf1=dense, tf2=Dense, inputs=inputs, checks=["constant_inferense"])
string_checks = tf_equiv.Pair(tf1=dense, tf2=Dense, inputs=inputs, checks="variables_match")
no_checks = tf_equiv.Pair(tf1=dense, tf2=Dense, inputs=inputs, checks=[])
