"""ResNet-101 in matterport's Caffe style: stride on the first 1x1 conv, biases everywhere.

Produces C2..C5 for the feature pyramid. Layer names are those of the weight file.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from .config import Config
from .layers import batch_norm, conv

# (stage, number of blocks, (F1, F2, F3), stride of block "a")
_STAGES = ((2, 3, (64, 64, 256), 1), (3, 4, (128, 128, 512), 2), (4, 23, (256, 256, 1024), 2),
           (5, 3, (512, 512, 2048), 2))


class Bottleneck(keras.layers.Layer):
    """One bottleneck block; block "a" of a stage also projects the shortcut."""

    def __init__(self, stage: int, block: str, filters: tuple[int, int, int], in_channels: int,
                 strides: int, epsilon: float, **kwargs):
        super().__init__(name=f"res{stage}{block}", **kwargs)
        f1, f2, f3 = filters
        prefix = f"{stage}{block}_branch"
        self.conv_a = conv(f"res{prefix}2a", f1, 1, in_channels, strides, padding="valid")
        self.bn_a = batch_norm(f"bn{prefix}2a", f1, epsilon)
        self.conv_b = conv(f"res{prefix}2b", f2, 3, f1)
        self.bn_b = batch_norm(f"bn{prefix}2b", f2, epsilon)
        self.conv_c = conv(f"res{prefix}2c", f3, 1, f2)
        self.bn_c = batch_norm(f"bn{prefix}2c", f3, epsilon)
        self.projects = block == "a"
        if self.projects:
            self.conv_short = conv(f"res{prefix}1", f3, 1, in_channels, strides, padding="valid")
            self.bn_short = batch_norm(f"bn{prefix}1", f3, epsilon)

    def call(self, x):
        y = tf.nn.relu(self.bn_a(self.conv_a(x), training=False))
        y = tf.nn.relu(self.bn_b(self.conv_b(y), training=False))
        y = self.bn_c(self.conv_c(y), training=False)
        shortcut = self.bn_short(self.conv_short(x), training=False) if self.projects else x
        return tf.nn.relu(y + shortcut)


def _block_letters(count: int) -> list[str]:
    return [chr(ord("a") + i) for i in range(count)]


class ResNet101(keras.layers.Layer):
    """Stem + stages 2..5; returns [C2, C3, C4, C5]."""

    def __init__(self, config: Config, **kwargs):
        super().__init__(name="resnet101", **kwargs)
        eps = config.BATCHNORM_EPSILON
        self.conv1 = conv("conv1", 64, 7, 3, strides=2, padding="valid")
        self.bn_conv1 = batch_norm("bn_conv1", 64, eps)
        self.stages: list[list[Bottleneck]] = []
        in_channels = 64
        for stage, count, filters, stride in _STAGES:
            if stage == 4:
                count = config.BACKBONE_STAGE4_BLOCKS
            blocks = []
            for i, letter in enumerate(_block_letters(count)):
                blocks.append(Bottleneck(stage, letter, filters, in_channels,
                                         stride if i == 0 else 1, eps))
                in_channels = filters[2]
            self.stages.append(blocks)

    def call(self, image):
        x = tf.pad(image, [[0, 0], [3, 3], [3, 3], [0, 0]])
        x = tf.nn.relu(self.bn_conv1(self.conv1(x), training=False))
        x = tf.nn.max_pool2d(x, 3, 2, "SAME")
        features = []
        for blocks in self.stages:
            for block in blocks:
                x = block(x)
            features.append(x)
        return features
