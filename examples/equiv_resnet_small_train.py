"""A small tf_slim ResNet v1 (two bottleneck blocks, batch norm, L2), migrated with the modeling
shim and trained for 30 SGD-momentum steps at 32x32 (training_run), batch-norm moving statistics
advancing on both sides. On a CPU with oneDNN on, the noise band also holds the drift of the TF1
run with oneDNN's kernels off."""
import numpy as np
import tensorflow as tf
import tf_slim as slim
from tf_slim.nets import resnet_v1

import tf_equiv


def tf1_forward(images, training):
    blocks = [
        resnet_v1.resnet_v1_block("block1", base_depth=8, num_units=2, stride=2),
        resnet_v1.resnet_v1_block("block2", base_depth=16, num_units=2, stride=1),
    ]
    with slim.arg_scope(resnet_v1.resnet_arg_scope(weight_decay=1e-4)):
        logits, _ = resnet_v1.resnet_v1(images, blocks, num_classes=10, is_training=training,
                                        global_pool=True, scope="resnet_small")
    return tf.squeeze(logits, [1, 2])


class ResNetSmall(tf.keras.layers.Layer):
    @tf.compat.v1.keras.utils.track_tf1_style_variables
    def call(self, images, training=None):
        return tf1_forward(images, bool(training))


def images():
    return np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)


def batches():
    """Eight batches of four images (called again for the next epoch)."""
    rng = np.random.default_rng(1)
    for _ in range(8):
        yield rng.uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)


def loss(logits):
    """Cross-entropy towards class 0: a stand-in for the labels of a real dataset."""
    labels = tf.zeros(tf.shape(logits)[:1], dtype=tf.int32)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))


resnet_small = tf_equiv.Pair(
    tf1=tf1_forward,
    tf2=ResNetSmall,
    inputs=images,
    loss=loss,
    optimizers=(lambda: tf.compat.v1.train.MomentumOptimizer(0.002, 0.9),
                lambda: tf.keras.optimizers.SGD(0.002, momentum=0.9)),
    train=tf_equiv.Train(steps=30, batches=batches, every=5),
    # With every weight 0.001, batch norm makes every output the same number on both sides: the
    # constant reset proves nothing here, so it is left out (transferred_inference compares the
    # same forward pass with real weights).
    checks=["variables_*", "transferred_inference", "random_*", "functional_*", "gradients",
            "optimizer_steps", "tf_function", "training_run"],
)
