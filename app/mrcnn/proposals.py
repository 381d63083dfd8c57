"""Proposal selection: best-scoring anchors, refined by the RPN deltas, clipped, then NMS."""

from __future__ import annotations

import tensorflow as tf

from .box_ops import apply_box_deltas, clip_boxes, pad_rows
from .config import Config


def select_proposals(rpn_probs: tf.Tensor, rpn_deltas: tf.Tensor, anchors: tf.Tensor,
                     config: Config) -> tf.Tensor:
    """rpn_probs (A, 2), rpn_deltas (A, 4), anchors (A, 4) -> proposals (POST_NMS_ROIS, 4).

    Rows are in descending objectness; missing rows are zero, as in the original (they flow
    through the heads like real boxes and are dropped only at the very end).
    """
    scores = rpn_probs[:, 1]
    deltas = rpn_deltas * tf.constant(config.RPN_BBOX_STD_DEV, tf.float32)
    k = min(config.PRE_NMS_LIMIT, anchors.shape[0])
    top = tf.math.top_k(scores, k, sorted=True).indices  # ties: lower anchor index first
    scores = tf.gather(scores, top)
    boxes = apply_box_deltas(tf.gather(anchors, top), tf.gather(deltas, top))
    boxes = clip_boxes(boxes, tf.constant([0.0, 0.0, 1.0, 1.0]))
    count = config.POST_NMS_ROIS_INFERENCE
    keep = tf.image.non_max_suppression(boxes, scores, count, config.RPN_NMS_THRESHOLD)
    return pad_rows(tf.gather(boxes, keep), count)
