"""Box arithmetic shared by the proposal and detection stages (TF ops, float32).

The operation order follows the original exactly: it decides bit-equality of the proposals.
"""

from __future__ import annotations

import tensorflow as tf


def apply_box_deltas(boxes: tf.Tensor, deltas: tf.Tensor) -> tf.Tensor:
    """Shift centres by (dy*h, dx*w) and scale sizes by exp(log dh), exp(log dw)."""
    height = boxes[:, 2] - boxes[:, 0]
    width = boxes[:, 3] - boxes[:, 1]
    center_y = boxes[:, 0] + 0.5 * height
    center_x = boxes[:, 1] + 0.5 * width
    center_y = center_y + deltas[:, 0] * height
    center_x = center_x + deltas[:, 1] * width
    height = height * tf.exp(deltas[:, 2])
    width = width * tf.exp(deltas[:, 3])
    y1 = center_y - 0.5 * height
    x1 = center_x - 0.5 * width
    return tf.stack([y1, x1, y1 + height, x1 + width], axis=1)


def clip_boxes(boxes: tf.Tensor, window: tf.Tensor) -> tf.Tensor:
    """Clip (y1, x1, y2, x2) into window (wy1, wx1, wy2, wx2)."""
    wy1, wx1, wy2, wx2 = tf.unstack(window)
    y1, x1, y2, x2 = tf.unstack(boxes, axis=1)
    y1 = tf.maximum(tf.minimum(y1, wy2), wy1)
    x1 = tf.maximum(tf.minimum(x1, wx2), wx1)
    y2 = tf.maximum(tf.minimum(y2, wy2), wy1)
    x2 = tf.maximum(tf.minimum(x2, wx2), wx1)
    return tf.stack([y1, x1, y2, x2], axis=1)


def pad_rows(x: tf.Tensor, rows: int) -> tf.Tensor:
    """Zero-pad a 2-D tensor to exactly `rows` rows (it never has more)."""
    return tf.pad(x, [[0, rows - tf.shape(x)[0]], [0, 0]])
