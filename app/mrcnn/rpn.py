"""Region proposal network head, shared across pyramid levels (the file's `rpn_model` group)."""

from __future__ import annotations

import keras
import tensorflow as tf

from .config import Config
from .layers import conv


class RegionProposalNetwork(keras.layers.Layer):
    """Per anchor: (background, foreground) probabilities and (dy, dx, log dh, log dw) deltas."""

    def __init__(self, config: Config, **kwargs):
        super().__init__(name="rpn_model", **kwargs)
        d = config.TOP_DOWN_PYRAMID_SIZE
        self.anchors_per_cell = len(config.RPN_ANCHOR_RATIOS)
        self.shared = conv("rpn_conv_shared", 512, 3, d, strides=config.RPN_ANCHOR_STRIDE,
                           activation="relu")
        self.class_raw = conv("rpn_class_raw", 2 * self.anchors_per_cell, 1, 512)
        self.bbox_pred = conv("rpn_bbox_pred", 4 * self.anchors_per_cell, 1, 512)

    def call(self, pyramid):
        """pyramid: [P2..P6], batch 1. Returns probs (1, A, 2) and deltas (1, A, 4), levels in order."""
        probs, deltas = [], []
        for p in pyramid:
            x = self.shared(p)
            # Row-major reshape: anchor index = (y * W + x) * 3 + ratio, matching the anchor order.
            logits = tf.reshape(self.class_raw(x), [1, -1, 2])
            probs.append(tf.nn.softmax(logits, axis=-1))
            deltas.append(tf.reshape(self.bbox_pred(x), [1, -1, 4]))
        return tf.concat(probs, axis=1), tf.concat(deltas, axis=1)
