"""Unmolding (SPEC 12, 16): boxes back to original pixels, zero-area drop, mask paste + threshold."""

from __future__ import annotations

import numpy as np
import pytest

from app.mrcnn.config import Config
from app.mrcnn.postprocess import unmold
from app.mrcnn.preprocess import mold
from tests.reference import resize_ref

F32 = np.float32


@pytest.fixture(scope="module")
def molded_512x768():
    molded = mold(np.zeros((512, 768, 3), dtype=np.uint8), Config())
    assert molded.window == (170, 0, 853, 1024)
    return molded


@pytest.fixture(scope="module")
def molded_1024():
    molded = mold(np.zeros((1024, 1024, 3), dtype=np.uint8), Config())
    assert molded.window == (0, 0, 1024, 1024)
    return molded


def detections(boxes, class_ids, scores) -> np.ndarray:
    return np.concatenate([F32(boxes), F32(class_ids)[:, None], F32(scores)[:, None]], axis=1)


def reference_boxes(boxes: np.ndarray, window, height: int, width: int) -> np.ndarray:
    wn = ((np.asarray(window, np.float64) - [0, 0, 1, 1]) / 1023).astype(F32)
    shift = F32([wn[0], wn[1], wn[0], wn[1]])
    scale = F32([wn[2] - wn[0], wn[3] - wn[1], wn[2] - wn[0], wn[3] - wn[1]])
    b = (F32(boxes) - shift) / scale
    pix = np.around(b.astype(np.float64) * [height - 1, width - 1, height - 1, width - 1] + [0, 0, 1, 1])
    return pix.astype(np.int32)


def reference_mask(mask: np.ndarray, box, height: int, width: int, threshold: float = 0.5) -> np.ndarray:
    y1, x1, y2, x2 = (int(v) for v in box)
    small = resize_ref(mask.astype(np.float64), y2 - y1, x2 - x1).astype(F32)
    full = np.zeros((height, width), dtype=bool)
    full[y1:y2, x1:x2] = small >= F32(threshold)
    return full


def test_unmolding_vectors(molded_512x768):
    boxes = [[0.3, 0.25, 0.7, 0.75], [0.16617791, 0.0, 0.83284456, 1.0], [0.5, 0.5, 0.5, 0.5]]
    dets = detections(boxes, [1, 2, 3], [0.9, 0.8, 0.75])
    masks = np.ones((3, 28, 28), F32)
    result = unmold(dets, masks, molded_512x768, 0.5)
    np.testing.assert_array_equal(result["rois"], [[103, 192, 410, 576], [0, 0, 512, 768]])
    np.testing.assert_array_equal(reference_boxes(F32(boxes), (170, 0, 853, 1024), 512, 768)[:2],
                                  [[103, 192, 410, 576], [0, 0, 512, 768]])
    np.testing.assert_array_equal(result["class_ids"], [1, 2])  # the area-0 third one is dropped
    np.testing.assert_array_equal(result["scores"], F32([0.9, 0.8]))
    assert result["masks"].shape == (512, 768, 2)
    assert result["masks"][..., 1].all()  # an all-ones mask over the whole image fills it


def test_mask_resize_threshold_vector(molded_1024):
    # normalised (10/1023, 20/1023, 13/1023, 23/1023) -> pixels (10, 20, 14, 24): a 4x4 paste
    box = F32([10, 20, 13, 23]) / F32(1023)
    mask = F32([[0.2, 0.9], [0.6, 0.8]])[None]
    values = F32([[0.2, 0.28125, 0.54375, 0.50625], [0.225, 0.44375, 0.73125, 0.65625],
                  [0.375, 0.58125, 0.74375, 0.61875], [0.3375, 0.4875, 0.5625, 0.45]])
    binary = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 1, 1, 1], [0, 0, 1, 0]], dtype=bool)
    np.testing.assert_allclose(resize_ref(mask[0].astype(np.float64), 4, 4).astype(F32), values, atol=1e-7)

    result = unmold(detections([box], [5], [0.99]), mask, molded_1024, 0.5)
    np.testing.assert_array_equal(result["rois"], [[10, 20, 14, 24]])
    full = result["masks"][..., 0]
    np.testing.assert_array_equal(full[10:14, 20:24], binary)
    assert full.sum() == binary.sum()  # nothing outside the box
    # the interpolated values themselves: sweep the threshold through them (>= is inclusive)
    exact = resize_ref(mask[0].astype(np.float64), 4, 4).astype(F32)
    for t in np.unique(exact):
        got = unmold(detections([box], [5], [0.99]), mask, molded_1024, float(t))["masks"][10:14, 20:24, 0]
        np.testing.assert_array_equal(got, exact >= t, err_msg=f"threshold {t}")


def test_random_detections_match_reference(molded_512x768):
    rng = np.random.default_rng(0)
    n = 12
    y1 = rng.uniform(0.17, 0.65, n)  # inside the window (0.166..0.833), as clipped detections are
    x1 = rng.uniform(0.0, 0.8, n)
    boxes = np.stack([y1, x1, y1 + rng.uniform(0, 0.15, n), x1 + rng.uniform(0, 0.2, n)], 1).astype(F32)
    boxes[4] = 0.5  # rounds to zero pixels (SPEC 16 vector): dropped
    boxes[7, 2] = boxes[7, 0]  # zero height in normalised units still unmolds to one pixel row
    class_ids = rng.integers(1, 81, n)
    scores = np.sort(rng.uniform(0.7, 1.0, n))[::-1].astype(F32)
    masks = rng.uniform(0, 1, (n, 28, 28)).astype(F32)
    masks[2] = 0.3  # never reaches the threshold
    result = unmold(detections(boxes, class_ids, scores), masks, molded_512x768, 0.5)

    pix = reference_boxes(boxes, (170, 0, 853, 1024), 512, 768)
    keep = np.flatnonzero((pix[:, 2] - pix[:, 0]) * (pix[:, 3] - pix[:, 1]) > 0)
    assert 4 not in keep and 7 in keep and len(keep) == n - 1
    np.testing.assert_array_equal(result["rois"], pix[keep])
    np.testing.assert_array_equal(result["class_ids"], class_ids[keep])
    np.testing.assert_array_equal(result["scores"], scores[keep])
    assert (result["rois"] >= 0).all() and (result["rois"][:, [0, 2]] <= 512).all()
    assert (result["rois"][:, [1, 3]] <= 768).all()
    for out, i in enumerate(keep):
        want = reference_mask(masks[i], pix[i], 512, 768)
        np.testing.assert_array_equal(result["masks"][..., out], want, err_msg=f"mask {i}")
    assert not result["masks"][..., list(keep).index(2)].any()


def test_output_types_and_shapes(molded_512x768):
    dets = detections([[0.3, 0.25, 0.7, 0.75]], [1], [0.9])
    result = unmold(dets, np.ones((1, 28, 28), F32), molded_512x768, 0.5)
    assert set(result) == {"rois", "class_ids", "scores", "masks"}
    assert result["rois"].dtype == np.int32 and result["rois"].shape == (1, 4)
    assert result["class_ids"].dtype == np.int32 and result["class_ids"].shape == (1,)
    assert result["scores"].dtype == np.float32 and result["scores"].shape == (1,)
    assert result["masks"].dtype == bool and result["masks"].shape == (512, 768, 1)


def test_no_detections(molded_512x768):
    result = unmold(np.zeros((0, 6), F32), np.zeros((0, 28, 28), F32), molded_512x768, 0.5)
    assert result["rois"].shape == (0, 4) and result["rois"].dtype == np.int32
    assert result["class_ids"].shape == (0,) and result["scores"].shape == (0,)
    assert result["masks"].shape == (512, 768, 0)


def test_zero_area_rule_follows_the_rounding(molded_512x768):
    # Only a box that rounds to zero pixels is dropped. A box collapsed onto the window corner (what a
    # confident zero-padding proposal becomes) unmolds to (0, 0, 1, 1) by the SPEC 12 formula and stays.
    dets = detections([[0.5, 0.5, 0.5, 0.5], [0.16617791, 0.0, 0.16617791, 0.0]], [1, 2], [0.9, 0.8])
    result = unmold(dets, np.ones((2, 28, 28), F32), molded_512x768, 0.5)
    np.testing.assert_array_equal(result["rois"], [[0, 0, 1, 1]])
    np.testing.assert_array_equal(result["class_ids"], [2])
    assert result["masks"].shape == (512, 768, 1) and result["masks"].sum() == 1


def test_all_detections_dropped(molded_512x768):
    dets = detections([[0.5, 0.5, 0.5, 0.5]] * 2, [1, 2], [0.9, 0.8])
    result = unmold(dets, np.ones((2, 28, 28), F32), molded_512x768, 0.5)
    assert result["rois"].shape == (0, 4) and result["masks"].shape == (512, 768, 0)
    assert result["class_ids"].shape == (0,) and result["scores"].shape == (0,)
