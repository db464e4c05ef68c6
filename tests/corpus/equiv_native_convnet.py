"""A tf.compat.v1.layers convnet migrated to native Keras layers (the control for equiv_broken_*).

Source: the model-mapping guide's "Incremental migration to Native TF2" (tensorflow/docs
site/en/guide/migrate/model_mapping.ipynb): each tf.compat.v1.layers call becomes the equivalent
tf.keras layer, created once in the constructor. The model is in _convnet.py.
"""
import tf_equiv
from _convnet import ConvNet, convnet, images, tf1_name

native_convnet = tf_equiv.Pair(tf1=convnet, tf2=ConvNet, inputs=images, name_map=tf1_name)
