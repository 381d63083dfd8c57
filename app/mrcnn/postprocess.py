"""Unmolding: map detections from the molded square back to the original image's pixels."""

from __future__ import annotations

import numpy as np

from .anchors import denormalize_boxes, normalize_boxes
from .preprocess import Molded, resize_bilinear


def paste_mask(mask: np.ndarray, box: np.ndarray, shape: tuple[int, int], threshold: float) -> np.ndarray:
    """Resize a small float mask into its pixel box and binarise it on a full-size canvas."""
    y1, x1, y2, x2 = (int(v) for v in box)
    resized = resize_bilinear(mask, (y2 - y1, x2 - x1)).astype(np.float32)
    full = np.zeros(shape, dtype=bool)
    full[y1:y2, x1:x2] = resized >= threshold
    return full


def unmold(detections: np.ndarray, masks: np.ndarray, molded: Molded, threshold: float) -> dict:
    """detections (M, 6) real rows only; masks (M, h, w) of each detection's class.

    Returns matterport's result dict: rois int32 (N, 4), class_ids int32 (N,), scores float32
    (N,), masks bool (H, W, N); detections whose box collapses to zero area are dropped.
    """
    height, width = molded.original_shape[:2]
    dim = molded.image.shape[0]
    window = normalize_boxes(np.asarray(molded.window, dtype=np.float64), (dim, dim))
    wy1, wx1, wy2, wx2 = window
    shift = np.array([wy1, wx1, wy1, wx1], dtype=np.float32)
    scale = np.array([wy2 - wy1, wx2 - wx1, wy2 - wy1, wx2 - wx1], dtype=np.float32)
    boxes = (detections[:, :4].astype(np.float32) - shift) / scale
    boxes = denormalize_boxes(boxes, (height, width))
    class_ids = detections[:, 4].astype(np.int32)
    scores = detections[:, 5].astype(np.float32)

    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = np.flatnonzero(area > 0)
    boxes, class_ids, scores = boxes[keep], class_ids[keep], scores[keep]
    full = np.zeros((height, width, len(keep)), dtype=bool)
    for out, i in enumerate(keep):
        full[..., out] = paste_mask(masks[i], boxes[out], (height, width), threshold)
    return {"rois": boxes, "class_ids": class_ids, "scores": scores, "masks": full}
