"""Pyramid ROI align: each box is cropped from the pyramid level that matches its size.

Sampling is TF's crop_and_resize (corner-aligned bilinear, one sample per cell), not
torchvision's averaged RoIAlign: the original was trained with this.
"""

from __future__ import annotations

import math

import tensorflow as tf


def assign_levels(boxes: tf.Tensor, image_area: float) -> tf.Tensor:
    """Level 2..5 per box: 4 + round(log2(sqrt(area) / (224 / sqrt(image area)))), clamped.

    Zero-area boxes give log(0) = -inf, whose integer cast is INT_MIN, so they land on P2.
    """
    y1, x1, y2, x2 = tf.unstack(boxes, axis=1)
    size = tf.sqrt((y2 - y1) * (x2 - x1))
    level = tf.math.log(size / (224.0 / math.sqrt(image_area))) / tf.math.log(2.0)
    return tf.minimum(5, tf.maximum(2, 4 + tf.cast(tf.round(level), tf.int32)))


def pyramid_roi_align(boxes: tf.Tensor, pyramid: list[tf.Tensor], pool_size: int,
                      image_area: float) -> tf.Tensor:
    """boxes (N, 4) normalised; pyramid [P2..P5] each (1, h, w, C) -> (N, pool, pool, C)."""
    levels = assign_levels(boxes, image_area)
    crops, positions = [], []
    for level, feature_map in enumerate(pyramid, start=2):
        where = tf.where(tf.equal(levels, level))[:, 0]
        level_boxes = tf.gather(boxes, where)
        box_indices = tf.zeros_like(where, dtype=tf.int32)
        crops.append(tf.image.crop_and_resize(
            feature_map, level_boxes, box_indices, [pool_size, pool_size], method="bilinear"))
        positions.append(tf.cast(where, tf.int32))
    # Put every crop back at its box's position.
    return tf.dynamic_stitch(positions, crops)
