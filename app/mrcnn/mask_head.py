"""Mask head: four 3x3 convs, a 2x up-sampling transposed conv, per-class sigmoid masks."""

from __future__ import annotations

import keras
import tensorflow as tf

from .config import Config
from .layers import Conv, ConvTranspose


class MaskHead(keras.layers.Layer):
    """(N, 14, 14, 256) crops and class ids (N,) -> the masks of those classes (N, 28, 28)."""

    def __init__(self, config: Config, **kwargs):
        super().__init__(name="mask_head", **kwargs)
        depth = config.TOP_DOWN_PYRAMID_SIZE
        eps = config.BATCHNORM_EPSILON
        self.convs = [Conv(f"mrcnn_mask_conv{i}", 256, 3, depth if i == 1 else 256, relu=True,
                           batchnorm=f"mrcnn_mask_bn{i}", epsilon=eps) for i in range(1, 5)]
        self.deconv = ConvTranspose("mrcnn_mask_deconv", 256, 2, 256, strides=2)
        self.classes = Conv("mrcnn_mask", config.NUM_CLASSES, 1, 256, padding="valid")
        self.built = True  # no weights of its own: skip Keras' symbolic shape pass

    def call(self, crops, class_ids):
        x = crops
        for conv in self.convs:
            x = conv(x)
        x = self.deconv(x)
        # Only each detection's own class channel is ever used: slice before the sigmoid.
        logits = tf.gather(self.classes(x), class_ids, axis=3, batch_dims=1)
        return tf.sigmoid(logits)
