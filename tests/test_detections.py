"""Detection refinement (SPEC 10) against a numpy statement of the rule, on small synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from app.mrcnn.config import Config
from app.mrcnn.detections import normalized_window, refine_detections
from tests.reference import apply_deltas_ref, clip_ref, nms_ref

F32 = np.float32
WINDOW = (170, 0, 853, 1024)  # the 512x768 example


def make_meta(num_classes: int, window=WINDOW) -> np.ndarray:
    return np.array([0, 512, 768, 3, 1024, 1024, 3, *window, 4 / 3] + [0] * num_classes, dtype=F32)


def reference_detections(rois, probs, deltas, meta, min_conf, cfg: Config) -> np.ndarray:
    h, w = meta[4], meta[5]
    window = (meta[7:11] - F32([0, 0, 1, 1])) / (F32([h, w, h, w]) - F32(1))  # float32, SPEC 10.1
    rows = np.arange(len(rois))
    class_ids = np.argmax(probs, axis=1)  # ties: lowest class
    scores = probs[rows, class_ids]
    d = deltas[rows, class_ids] * F32(cfg.BBOX_STD_DEV)
    boxes = clip_ref(apply_deltas_ref(rois, d), window)
    keep = [i for i in rows if class_ids[i] > 0 and (min_conf == 0 or scores[i] >= F32(min_conf))]
    survivors: set[int] = set()
    for c in sorted({int(class_ids[i]) for i in keep}):
        members = [i for i in keep if class_ids[i] == c]  # ascending ROI order
        kept = nms_ref(boxes[members], scores[members], cfg.DETECTION_MAX_INSTANCES,
                       cfg.DETECTION_NMS_THRESHOLD)
        survivors.update(members[k] for k in kept)
    order = sorted(survivors, key=lambda i: (-scores[i], i))[:cfg.DETECTION_MAX_INSTANCES]
    out = np.zeros((cfg.DETECTION_MAX_INSTANCES, 6), F32)
    for slot, i in enumerate(order):
        out[slot, :4] = boxes[i]
        out[slot, 4] = class_ids[i]
        out[slot, 5] = scores[i]
    return out


def synthetic_case(seed: int, num_classes: int = 4, rois_count: int = 80):
    """Clustered ROIs (so NMS has work), confident and unconfident rows, ties, zero padding rows."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.2, 0.8, (6, 2))
    rois = []
    for i in range(rois_count - 8):
        cy, cx = centres[i % 6] + rng.normal(0, 0.02, 2)
        h, w = rng.uniform(0.05, 0.3, 2)
        rois.append([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2])
    rois += [[0, 0, 0, 0]] * 8  # padding proposals flow through like real boxes
    rois = np.clip(np.array(rois), 0, 1).astype(F32)
    logits = rng.normal(0, 1, (rois_count, num_classes))
    confident = rng.random(rois_count) < 0.6
    logits[confident, rng.integers(0, num_classes, confident.sum())] += rng.uniform(2, 7, confident.sum())
    probs = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(F32)
    # exact score ties within one class, and one confident padding row
    probs[3] = probs[9] = F32([0.05, 0.9, 0.03, 0.02][:num_classes] + [0] * (num_classes - 4))
    probs[-1] = F32([0.01, 0.01, 0.97, 0.01][:num_classes] + [0] * (num_classes - 4))
    deltas = rng.normal(0, 1, (rois_count, num_classes, 4)).astype(F32)
    return rois, probs, deltas


def run(rois, probs, deltas, meta, min_conf, cfg):
    return refine_detections(tf.constant(rois), tf.constant(probs), tf.constant(deltas), tf.constant(meta),
                             tf.constant(min_conf, tf.float32), cfg).numpy()


def assert_detections_equal(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_array_equal(got[:, 4], want[:, 4], err_msg="class ids / order")
    np.testing.assert_array_equal(got[:, 5], want[:, 5], err_msg="scores / order")
    np.testing.assert_allclose(got[:, :4], want[:, :4], rtol=0, atol=1e-6)


def test_normalized_window_vector():
    got = normalized_window(tf.constant(make_meta(81))).numpy()
    np.testing.assert_array_equal(got, F32([0.16617791, 0.0, 0.83284456, 1.0]))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("min_conf", [0.7, 0.0, 0.3])
def test_refine_detections_matches_reference(seed, min_conf):
    cfg = Config(NUM_CLASSES=4)
    rois, probs, deltas = synthetic_case(seed)
    meta = make_meta(4)
    got = run(rois, probs, deltas, meta, min_conf, cfg)
    want = reference_detections(rois, probs, deltas, meta, min_conf, cfg)
    count = int((want[:, 4] > 0).sum())
    assert count > 3
    assert_detections_equal(got, want)
    assert (got[count:] == 0).all()  # zero padded to DETECTION_MAX_INSTANCES
    assert (np.diff(got[:count, 5]) <= 0).all()  # descending score
    if min_conf:
        assert (got[:count, 5] >= F32(min_conf)).all()


def test_min_confidence_zero_disables_the_filter():
    cfg = Config(NUM_CLASSES=4)
    rois, probs, deltas = synthetic_case(4)
    meta = make_meta(4)
    filtered = run(rois, probs, deltas, meta, 0.7, cfg)
    unfiltered = run(rois, probs, deltas, meta, 0.0, cfg)
    low = unfiltered[:, 5][unfiltered[:, 4] > 0]
    assert (low < 0.7).any(), "with the filter off, unconfident detections appear"
    assert (low > 0).all()
    assert (unfiltered[:, 4] > 0).sum() > (filtered[:, 4] > 0).sum()


def test_ties_and_padding_row_detection():
    cfg = Config(NUM_CLASSES=4)
    rois, probs, deltas = synthetic_case(0)
    meta = make_meta(4)
    got = run(rois, probs, deltas, meta, 0.7, cfg)
    # the confident zero row becomes a detection collapsed onto the window corner (dropped later)
    corner = F32([0.16617791, 0.0, 0.16617791, 0.0])
    hits = np.flatnonzero((got[:, :4] == corner).all(axis=1) & (got[:, 4] == 2))
    assert F32(0.97) in got[hits, 5]  # zero-area boxes never suppress each other: others may join it


def test_truncates_to_max_instances():
    cfg = Config(NUM_CLASSES=4, DETECTION_MAX_INSTANCES=5)
    rois, probs, deltas = synthetic_case(1)
    meta = make_meta(4)
    got = run(rois, probs, deltas, meta, 0.0, cfg)
    want = reference_detections(rois, probs, deltas, meta, 0.0, cfg)
    assert got.shape == (5, 6) and (got[:, 4] > 0).all()
    assert_detections_equal(got, want)


def test_per_class_nms_keeps_overlapping_boxes_of_other_classes():
    cfg = Config(NUM_CLASSES=3)
    rois = F32([[0.2, 0.2, 0.6, 0.6], [0.21, 0.2, 0.61, 0.6], [0.2, 0.21, 0.6, 0.61]])
    probs = F32([[0.0, 0.95, 0.05], [0.0, 0.9, 0.1], [0.1, 0.1, 0.8]])
    deltas = np.zeros((3, 3, 4), F32)
    got = run(rois, probs, deltas, make_meta(3, (0, 0, 1024, 1024)), 0.7, cfg)
    # ROI 1 overlaps ROI 0 of the same class (suppressed); ROI 2 has another class (kept)
    assert got[:3, 4].tolist() == [1, 2, 0]
    np.testing.assert_array_equal(got[:2, 5], F32([0.95, 0.8]))


def test_only_background_gives_all_zero_rows():
    cfg = Config(NUM_CLASSES=4)
    rois, probs, deltas = synthetic_case(2)
    probs[:] = F32([0.97, 0.01, 0.01, 0.01])
    got = run(rois, probs, deltas, make_meta(4), 0.0, cfg)
    assert got.shape == (100, 6) and (got == 0).all()


def test_nms_tie_vector_through_refine_detections():
    # SPEC 16 tie rule with one class; the degenerate boxes sit at distinct visible places
    cfg = Config(NUM_CLASSES=2, DETECTION_NMS_THRESHOLD=0.5)
    rois = F32([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0.5, 1], [0.3, 0.3, 0.3, 0.3], [0.5, 0.2, 0.5, 0.9]])
    scores = F32([0.9, 0.9, 0.8, 0.95, 0.95])
    probs = np.stack([1 - scores, scores], axis=1).astype(F32)
    got = run(rois, probs, np.zeros((5, 2, 4), F32), make_meta(2, (0, 0, 1024, 1024)), 0.7, cfg)
    window = F32([0, 0, 1023 / 1023, 1023 / 1023])
    want = clip_ref(apply_deltas_ref(rois, np.zeros((5, 4), F32)), window)[[3, 4, 0, 2]]
    np.testing.assert_array_equal(got[:4, :4], want)
    np.testing.assert_array_equal(got[:4, 5], scores[[3, 4, 0, 2]])
    assert (got[4:] == 0).all()
