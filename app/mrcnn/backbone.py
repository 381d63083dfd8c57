"""ResNet-101 in matterport's Caffe style: stride on the first 1x1 conv, biases everywhere.

Produces C2..C5 for the feature pyramid. Layer names are those of the weight file; each
BatchNorm is folded into the convolution before it (see layers.py).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from .config import Config
from .layers import Conv

# (stage, number of blocks, (F1, F2, F3), stride of block "a")
_STAGES = ((2, 3, (64, 64, 256), 1), (3, 4, (128, 128, 512), 2), (4, 23, (256, 256, 1024), 2),
           (5, 3, (512, 512, 2048), 2))


class Bottleneck(keras.layers.Layer):
    """One bottleneck block; block "a" of a stage also projects the shortcut."""

    def __init__(self, stage: int, block: str, filters: tuple[int, int, int], in_channels: int,
                 strides: int, epsilon: float, **kwargs):
        super().__init__(name=f"res{stage}{block}", **kwargs)
        f1, f2, f3 = filters
        tag = f"{stage}{block}_branch"
        self.conv_a = Conv(f"res{tag}2a", f1, 1, in_channels, strides, padding="valid", relu=True,
                           batchnorm=f"bn{tag}2a", epsilon=epsilon)
        self.conv_b = Conv(f"res{tag}2b", f2, 3, f1, relu=True, batchnorm=f"bn{tag}2b", epsilon=epsilon)
        self.conv_c = Conv(f"res{tag}2c", f3, 1, f2, batchnorm=f"bn{tag}2c", epsilon=epsilon)
        self.shortcut = None
        if block == "a":
            self.shortcut = Conv(f"res{tag}1", f3, 1, in_channels, strides, padding="valid",
                                 batchnorm=f"bn{tag}1", epsilon=epsilon)
        self.built = True  # no weights of its own: skip Keras' symbolic shape pass

    def call(self, x):
        y = self.conv_c(self.conv_b(self.conv_a(x)))
        return tf.nn.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class ResNet101(keras.layers.Layer):
    """Stem + stages 2..5; returns [C2, C3, C4, C5]."""

    def __init__(self, config: Config, **kwargs):
        super().__init__(name="resnet101", **kwargs)
        eps = config.BATCHNORM_EPSILON
        self.conv1 = Conv("conv1", 64, 7, 3, strides=2, padding="valid", relu=True,
                          batchnorm="bn_conv1", epsilon=eps)
        self.stages: list[list[Bottleneck]] = []
        in_channels = 64
        for stage, count, filters, stride in _STAGES:
            if stage == 4:
                count = config.BACKBONE_STAGE4_BLOCKS
            blocks = []
            for i in range(count):
                letter = chr(ord("a") + i)
                blocks.append(Bottleneck(stage, letter, filters, in_channels, stride if i == 0 else 1, eps))
                in_channels = filters[2]
            self.stages.append(blocks)
        self.built = True  # no weights of its own: skip Keras' symbolic shape pass

    def call(self, image):
        x = tf.pad(image, [[0, 0], [3, 3], [3, 3], [0, 0]])
        x = tf.nn.max_pool2d(self.conv1(x), 3, 2, "SAME")  # TF "same": the padding never wins the max
        features = []
        for blocks in self.stages:
            for block in blocks:
                x = block(x)
            features.append(x)
        return features
