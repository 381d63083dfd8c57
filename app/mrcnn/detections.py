"""Detection refinement: per-ROI best class, class-specific box refinement, per-class NMS, top-N."""

from __future__ import annotations

import tensorflow as tf

from .box_ops import apply_box_deltas, clip_boxes, pad_rows
from .config import Config


def normalized_window(meta: tf.Tensor) -> tf.Tensor:
    """The image window of image_meta, normalised with the (size - 1) convention, in float32."""
    height, width = meta[4], meta[5]
    window = meta[7:11]
    scale = tf.stack([height, width, height, width]) - 1.0
    return (window - tf.constant([0.0, 0.0, 1.0, 1.0])) / scale


def _class_nms(boxes: tf.Tensor, scores: tf.Tensor, class_ids: tf.Tensor, config: Config) -> tf.Tensor:
    """Positions kept by NMS run separately per class, as an ascending list."""
    limit = config.DETECTION_MAX_INSTANCES

    def one_class(class_id):
        members = tf.where(tf.equal(class_ids, class_id))[:, 0]
        kept = tf.image.non_max_suppression(
            tf.gather(boxes, members), tf.gather(scores, members), limit,
            config.DETECTION_NMS_THRESHOLD)
        kept = tf.gather(members, kept)
        return tf.pad(kept, [[0, limit - tf.shape(kept)[0]]], constant_values=-1)

    unique_ids = tf.unique(class_ids).y
    kept = tf.map_fn(one_class, unique_ids, fn_output_signature=tf.TensorSpec([limit], tf.int64))
    kept = tf.reshape(kept, [-1])
    return tf.sort(tf.boolean_mask(kept, kept >= 0))


def refine_detections(rois: tf.Tensor, probs: tf.Tensor, deltas: tf.Tensor, meta: tf.Tensor,
                      min_confidence: tf.Tensor, config: Config) -> tf.Tensor:
    """rois (R, 4), probs (R, K), deltas (R, K, 4) -> detections (MAX_INSTANCES, 6).

    Rows are (y1, x1, y2, x2, class_id, score), normalised to the molded image, sorted by
    descending score (ties: lower ROI first), zero padded. `min_confidence` 0 disables the filter.
    """
    class_ids = tf.argmax(probs, axis=1, output_type=tf.int32)
    rows = tf.range(tf.shape(probs)[0])
    picks = tf.stack([rows, class_ids], axis=1)
    scores = tf.gather_nd(probs, picks)
    class_deltas = tf.gather_nd(deltas, picks) * tf.constant(config.BBOX_STD_DEV, tf.float32)
    boxes = clip_boxes(apply_box_deltas(rois, class_deltas), normalized_window(meta))

    confident = tf.logical_or(tf.equal(min_confidence, 0.0), scores >= min_confidence)
    keep = tf.where(tf.logical_and(class_ids > 0, confident))[:, 0]
    keep = tf.gather(keep, _class_nms(tf.gather(boxes, keep), tf.gather(scores, keep),
                                      tf.gather(class_ids, keep), config))

    count = tf.minimum(tf.shape(keep)[0], config.DETECTION_MAX_INSTANCES)
    keep = tf.gather(keep, tf.math.top_k(tf.gather(scores, keep), count, sorted=True).indices)
    detections = tf.concat([
        tf.gather(boxes, keep),
        tf.cast(tf.gather(class_ids, keep), tf.float32)[:, None],
        tf.gather(scores, keep)[:, None],
    ], axis=1)
    return pad_rows(detections, config.DETECTION_MAX_INSTANCES)
