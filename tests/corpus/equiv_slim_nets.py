"""tf_slim networks beyond the examples' inception_v3 and resnet_v1_50, migrated with the shim.

Source: the nets of the tf_slim package (tf_slim/nets/resnet_v2.py, inception_v2.py), wrapped as the
guide "Validating correctness & numerical equivalence" wraps its slim network: the TF1 forward pass
unchanged inside a `track_tf1_style_variables` call.

Building a full slim net in a graph takes seconds and every check builds it again on each side, so
the pairs use the nets' own builders at small configurations: `resnet_v2` with two short blocks (as
tf_slim's resnet_v2_test builds its "resnet_v2_small"), and `inception_v2_base` cut at `Mixed_3b`
under a classification head written like inception_v2's own (the feature-extractor-plus-new-head
pattern of TF1 fine-tuning code).
"""
import numpy as np
import tensorflow as tf
import tf_slim as slim
from tf_slim.nets import inception_v2, resnet_v2

import tf_equiv


def small_images():
    return np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)


def logits_loss(outputs):
    return tf.reduce_mean(outputs[0])


# ResNet v2 (pre-activation units, a post-norm, global pooling, a 1x1 conv as classifier).
def resnet_v2_small(images, training):
    blocks = [
        resnet_v2.resnet_v2_block("block1", base_depth=8, num_units=2, stride=2),
        resnet_v2.resnet_v2_block("block2", base_depth=16, num_units=1, stride=1),
    ]
    with slim.arg_scope(resnet_v2.resnet_arg_scope()):
        return resnet_v2.resnet_v2(images, blocks, num_classes=10, is_training=training,
                                   scope="resnet_v2_small")


class ResNetV2Small(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, images, training=None):
        return resnet_v2_small(images, bool(training))


resnet_v2_small_blocks = tf_equiv.Pair(
    tf1=resnet_v2_small,
    tf2=ResNetV2Small,
    inputs=small_images,
    loss=logits_loss,
)


# Inception v2's stem (a separable 7x7 convolution, batch norm everywhere) and first mixed block at
# a quarter of the depth, then average pooling, dropout and a 1x1 convolution as in inception_v2().
def inception_v2_head(images, training, num_classes=10):
    with slim.arg_scope(inception_v2.inception_v2_arg_scope()):
        with tf.compat.v1.variable_scope("InceptionV2", values=[images]) as scope:
            with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=training):
                net, end_points = inception_v2.inception_v2_base(
                    images, final_endpoint="Mixed_3b", depth_multiplier=0.25, scope=scope)
                with tf.compat.v1.variable_scope("Logits"):
                    net = slim.avg_pool2d(net, net.get_shape()[1:3], padding="VALID",
                                          scope="AvgPool_1a")
                    net = slim.dropout(net, keep_prob=0.8, scope="Dropout_1b")
                    logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                                         normalizer_fn=None, scope="Conv2d_1c_1x1")
                    logits = tf.squeeze(logits, [1, 2], name="SpatialSqueeze")
                end_points["Logits"] = logits
                end_points["Predictions"] = slim.softmax(logits, scope="Predictions")
    return logits, end_points


class InceptionV2Head(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, images, training=None):
        return inception_v2_head(images, bool(training))


inception_v2_mixed_3b = tf_equiv.Pair(
    tf1=inception_v2_head,
    tf2=InceptionV2Head,
    inputs=small_images,
    loss=logits_loss,
)
