"""Region proposal network head, shared across pyramid levels (the file's `rpn_model` group)."""

from __future__ import annotations

import tensorflow as tf

from .config import Config
from .layers import LoadedLayer
from .weights import WeightReader


class RegionProposalNetwork(LoadedLayer):
    """Per anchor: (background, foreground) probabilities and (dy, dx, log dh, log dw) deltas.

    The three convs (rpn_conv_shared 3x3 + ReLU, rpn_class_raw 1x1, rpn_bbox_pred 1x1) are one
    nested model in the file, so one group holds all six arrays.
    """

    STRIP_ROWS = 64

    def __init__(self, config: Config, **kwargs):
        super().__init__("rpn_model", **kwargs)
        self.depth = config.TOP_DOWN_PYRAMID_SIZE
        self.anchors_per_cell = len(config.RPN_ANCHOR_RATIOS)
        self.stride = config.RPN_ANCHOR_STRIDE

    def load(self, reader: WeightReader) -> None:
        a = self.anchors_per_cell
        shapes = [(3, 3, self.depth, 512), (512,), (1, 1, 512, 2 * a), (2 * a,), (1, 1, 512, 4 * a), (4 * a,)]
        arrays = reader.read(self.name, [(n, s) for n, s in zip(["kernel", "bias"] * 3, shapes, strict=True)])
        names = ["shared_kernel", "shared_bias", "class_kernel", "class_bias", "bbox_kernel", "bbox_bias"]
        for name, value in zip(names, arrays, strict=True):
            setattr(self, name, self._constant_weight(name, value))
        self.loaded = True
        self.built = True

    def call(self, pyramid):
        """pyramid: [P2..P6], batch 1. Returns probs (1, A, 2) and deltas (1, A, 4), levels in order."""
        a = self.anchors_per_cell
        # Both 1x1 heads in one matmul, so the 512-deep shared map is read once per level.
        heads = tf.concat([tf.reshape(self.class_kernel, [512, 2 * a]),
                           tf.reshape(self.bbox_kernel, [512, 4 * a])], axis=1)
        bias = tf.concat([self.class_bias, self.bbox_bias], axis=0)
        probs, deltas = [], []
        for p in pyramid:
            out = self._heads(p, heads, bias)
            # Row-major order: anchor index = (y * W + x) * 3 + ratio, matching the anchor order.
            probs.append(tf.nn.softmax(tf.reshape(out[:, :2 * a], [1, -1, 2]), axis=-1))
            deltas.append(tf.reshape(out[:, 2 * a:], [1, -1, 4]))
        return tf.concat(probs, axis=1), tf.concat(deltas, axis=1)

    def _heads(self, p, heads, bias):
        """(H*W, 18) head outputs of one level, computed in bands of rows on the large levels.

        The shared 3x3 conv has 512 channels: on P2 its output alone would be 128 MB. Bands of at
        most STRIP_ROWS rows, run one after the other, bound that buffer (same values: each band
        sees its one-row halo, zero beyond the map's edges, exactly as "same" padding does).
        """
        rows = p.shape[1]
        if self.stride != 1 or rows <= self.STRIP_ROWS:
            x = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(p, self.shared_kernel, self.stride, "SAME"),
                                          self.shared_bias))
            return tf.nn.bias_add(tf.matmul(tf.reshape(x, [-1, 512]), heads), bias)
        padded = tf.pad(p, [[0, 0], [1, 1], [1, 1], [0, 0]])
        outs = []
        for top in range(0, rows, self.STRIP_ROWS):
            band = padded[:, top:min(top + self.STRIP_ROWS, rows) + 2]
            # Each band waits for the previous one, so only one band's 512-channel map is alive.
            with tf.control_dependencies(outs[-1:]):
                x = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(band, self.shared_kernel, 1, "VALID"),
                                              self.shared_bias))
            outs.append(tf.nn.bias_add(tf.matmul(tf.reshape(x, [-1, 512]), heads), bias))
        return tf.concat(outs, axis=0)
