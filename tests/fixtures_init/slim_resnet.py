"""A small tf_slim ResNet v1 (one bottleneck block) as TF1 code has it: `tf-equiv init`'s source."""
import tf_slim as slim
from tf_slim.nets import resnet_utils, resnet_v1


def resnet_tiny(images, is_training):
    blocks = [resnet_v1.resnet_v1_block("block1", base_depth=4, num_units=1, stride=2)]
    with slim.arg_scope(resnet_utils.resnet_arg_scope()):
        return resnet_v1.resnet_v1(images, blocks, num_classes=5, is_training=is_training,
                                   scope="resnet_tiny")
