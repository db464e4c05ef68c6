"""Sixteen small pairs, for scaling with --jobs and --shard."""
from _two_layer import TwoLayer, inputs, tf1_forward

import tf_equiv

pair_01 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_02 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_03 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_04 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_05 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_06 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_07 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_08 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_09 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_10 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_11 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_12 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_13 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_14 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_15 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
pair_16 = tf_equiv.Pair(tf1=tf1_forward, tf2=TwoLayer, inputs=inputs,
                        checks=["variables_*", "transferred_inference", "gradients"])
