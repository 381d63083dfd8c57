"""Proposal selection (SPEC 7) and the NMS tie rule (SPEC 16) against a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from app.mrcnn.anchors import generate_anchors
from app.mrcnn.config import Config
from app.mrcnn.proposals import select_proposals
from tests.reference import apply_deltas_ref, clip_ref, nms_ref

# SPEC 16 NMS tie rule (TF CPU kernel)
TIE_BOXES = np.float32([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0.5, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
TIE_SCORES = np.float32([0.9, 0.9, 0.8, 0.95, 0.95])
TIE_SELECTED = [3, 4, 0, 2]


def test_nms_tie_vector_tf_kernel():
    got = tf.image.non_max_suppression(TIE_BOXES, TIE_SCORES, 10, 0.5).numpy()
    assert got.tolist() == TIE_SELECTED
    assert nms_ref(TIE_BOXES, TIE_SCORES, 10, 0.5) == TIE_SELECTED  # the reference states the same rule


def _as_rpn_outputs(scores: np.ndarray) -> tf.Tensor:
    return tf.constant(np.stack([1 - scores, scores], axis=1).astype(np.float32))


@pytest.mark.parametrize("distinct_degenerate", [False, True])
def test_nms_tie_vector_through_select_proposals(distinct_degenerate):
    boxes = TIE_BOXES.copy()
    if distinct_degenerate:  # zero-area boxes somewhere visible, so their order can be checked
        boxes[3] = (0.3, 0.3, 0.3, 0.3)
        boxes[4] = (0.5, 0.2, 0.5, 0.9)
    cfg = Config(RPN_NMS_THRESHOLD=0.5, POST_NMS_ROIS_INFERENCE=6)
    rois = select_proposals(_as_rpn_outputs(TIE_SCORES), tf.zeros([5, 4]), tf.constant(boxes), cfg).numpy()
    want = np.zeros((6, 4), np.float32)
    # zero deltas still round-trip through centre/size arithmetic (x1 0.2 comes back one ulp off)
    want[:4] = apply_deltas_ref(boxes, np.zeros_like(boxes))[TIE_SELECTED]
    np.testing.assert_array_equal(rois, want)
    np.testing.assert_allclose(rois[:4], boxes[TIE_SELECTED], atol=1e-7)


def reference_proposals(probs: np.ndarray, deltas: np.ndarray, anchors: np.ndarray,
                        cfg: Config) -> np.ndarray:
    scores = probs[:, 1].astype(np.float32)
    k = min(cfg.PRE_NMS_LIMIT, len(anchors))
    order = np.argsort(-scores, kind="stable")[:k]  # descending, ties to the lower anchor index
    d = deltas[order].astype(np.float32) * np.float32(cfg.RPN_BBOX_STD_DEV)
    boxes = clip_ref(apply_deltas_ref(anchors[order], d), (0, 0, 1, 1))
    keep = nms_ref(boxes, scores[order], cfg.POST_NMS_ROIS_INFERENCE, cfg.RPN_NMS_THRESHOLD)
    out = np.zeros((cfg.POST_NMS_ROIS_INFERENCE, 4), np.float32)
    out[:len(keep)] = boxes[keep]
    return out


@pytest.mark.parametrize(("pre_nms", "post_nms", "seed"), [(200, 50, 0), (6000, 400, 1), (30, 40, 2)])
def test_select_proposals_matches_reference(pre_nms, post_nms, seed):
    cfg = Config(IMAGE_MAX_DIM=64, IMAGE_MIN_DIM=32, RPN_ANCHOR_SCALES=(8, 16, 32, 64, 128),
                 PRE_NMS_LIMIT=pre_nms, POST_NMS_ROIS_INFERENCE=post_nms)
    anchors = generate_anchors(cfg)
    assert len(anchors) == 1023
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (len(anchors), 2))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    probs = probs.astype(np.float32)
    probs[100:110, 1] = probs[5, 1]  # ties in objectness
    deltas = rng.normal(0, 1.0, (len(anchors), 4)).astype(np.float32)
    got = select_proposals(tf.constant(probs), tf.constant(deltas), tf.constant(anchors), cfg).numpy()
    want = reference_proposals(probs, deltas, anchors, cfg)
    assert got.shape == (post_nms, 4) and got.dtype == np.float32
    real = np.any(want != 0, axis=1)
    assert np.any(got != 0, axis=1).sum() == real.sum()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert (got >= 0).all() and (got <= 1).all()
    if pre_nms == 30:
        assert real.sum() <= 30  # only the top-k candidates can become proposals
