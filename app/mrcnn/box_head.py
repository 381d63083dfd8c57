"""Classifier and box-regression head over the 7x7 ROI crops."""

from __future__ import annotations

import keras
import tensorflow as tf

from .config import Config
from .layers import Conv, Dense


class BoxHead(keras.layers.Layer):
    """(N, 7, 7, 256) crops -> class probabilities (N, K) and per-class deltas (N, K, 4)."""

    def __init__(self, config: Config, **kwargs):
        super().__init__(name="box_head", **kwargs)
        fc = config.FPN_CLASSIF_FC_LAYERS_SIZE
        eps = config.BATCHNORM_EPSILON
        self.num_classes = config.NUM_CLASSES
        # A "valid" 7x7 conv over a 7x7 crop is a fully connected layer.
        self.conv1 = Conv("mrcnn_class_conv1", fc, config.POOL_SIZE, config.TOP_DOWN_PYRAMID_SIZE,
                          padding="valid", relu=True, batchnorm="mrcnn_class_bn1", epsilon=eps)
        self.conv2 = Conv("mrcnn_class_conv2", fc, 1, fc, padding="valid", relu=True,
                          batchnorm="mrcnn_class_bn2", epsilon=eps)
        self.logits = Dense("mrcnn_class_logits", self.num_classes, fc)
        self.bbox = Dense("mrcnn_bbox_fc", 4 * self.num_classes, fc)
        self.built = True  # no weights of its own: skip Keras' symbolic shape pass

    def call(self, crops):
        x = tf.squeeze(self.conv2(self.conv1(crops)), axis=[1, 2])
        probs = tf.nn.softmax(self.logits(x), axis=-1)
        deltas = tf.reshape(self.bbox(x), [-1, self.num_classes, 4])
        return probs, deltas
