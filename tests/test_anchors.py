"""Anchors (SPEC 5, 16): count, values, level order, and the (H-1, W-1) normalisation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.mrcnn.anchors import denormalize_boxes, generate_anchors, normalize_boxes, pixel_anchors
from app.mrcnn.config import Config
from tests.reference import denormalize_ref, normalize_ref

# SPEC 16: index -> (pixel anchor, normalised float32 anchor)
TABLE = {
    0: ((-22.627417, -11.313708, 22.627417, 11.313708),
        (-0.022118688, -0.011059344, 0.021141170, 0.010081827)),
    1: ((-16, -16, 16, 16), (-0.015640274, -0.015640274, 0.014662757, 0.014662757)),
    2: ((-11.313708, -22.627417, 11.313708, 22.627417),
        (-0.011059344, -0.022118688, 0.010081827, 0.021141170)),
    3: ((-22.627417, -7.313708, 22.627417, 15.313708),
        (-0.022118688, -0.007149275, 0.021141170, 0.013991895)),
    768: ((-18.627417, -11.313708, 26.627417, 11.313708),
          (-0.018208619, -0.011059344, 0.025051238, 0.010081827)),
    196607: ((1008.686292, 997.372583, 1031.313708, 1042.627417),
             (0.98600811, 0.97494876, 1.00714922, 1.01820862)),
    196608: ((-45.254834, -22.627417, 45.254834, 22.627417),
             (-0.044237375, -0.022118688, 0.043259859, 0.021141170)),
    245760: ((-90.509668, -45.254834, 90.509668, 45.254834),
             (-0.088474751, -0.044237375, 0.087497234, 0.043259859)),
    258048: ((-181.019336, -90.509668, 181.019336, 90.509668),
             (-0.176949501, -0.088474751, 0.175971985, 0.087497234)),
    261120: ((-362.038672, -181.019336, 362.038672, 181.019336),
             (-0.353899002, -0.176949501, 0.352921486, 0.175971985)),
    261887: ((778.980664, 597.961328, 1141.019336, 1322.038672),
             (0.76146692, 0.58451742, 1.11438835, 1.29133785)),
}


def reference_pixel_anchors(dim: int, scales, ratios, strides) -> np.ndarray:
    """SPEC 5.1/5.2 written index by index: offset_k + (y * W_k + x) * 3 + ratio_index."""
    sizes = [math.ceil(dim / s) for s in strides]
    total = sum(3 * n * n for n in sizes)
    out = np.empty((total, 4), dtype=np.float64)
    offset = 0
    for scale, stride, n in zip(scales, strides, sizes, strict=True):
        ys, xs = np.divmod(np.arange(n * n), n)  # cell (y, x) for y*W + x
        for r_idx, r in enumerate(ratios):
            h = scale / math.sqrt(r)
            w = scale * math.sqrt(r)
            idx = offset + (ys * n + xs) * 3 + r_idx
            cy, cx = ys * stride, xs * stride
            out[idx] = np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], axis=1)
        offset += 3 * n * n
    return out


@pytest.fixture(scope="module")
def coco_anchors() -> tuple[np.ndarray, np.ndarray]:
    cfg = Config()
    return pixel_anchors(cfg), generate_anchors(cfg)


def test_count_and_dtype_for_1024(coco_anchors):
    pixel, norm = coco_anchors
    assert pixel.shape == (261_888, 4)
    assert norm.shape == (261_888, 4)
    assert norm.dtype == np.float32


@pytest.mark.parametrize("index", sorted(TABLE))
def test_spec_table_values(coco_anchors, index):
    pixel, norm = coco_anchors
    want_pixel, want_norm = TABLE[index]
    np.testing.assert_allclose(pixel[index], want_pixel, rtol=0, atol=1e-6)
    np.testing.assert_allclose(norm[index], np.float32(want_norm), rtol=0, atol=1e-8)


def test_all_anchors_match_independent_reference(coco_anchors):
    pixel, norm = coco_anchors
    ref = reference_pixel_anchors(1024, (32, 64, 128, 256, 512), (0.5, 1, 2), (4, 8, 16, 32, 64))
    np.testing.assert_allclose(pixel, ref, rtol=0, atol=1e-9)
    # normalised anchors: float64 arithmetic rounded once to float32, so bit-equal
    np.testing.assert_array_equal(norm, normalize_ref(ref, 1024, 1024))


def test_level_order_and_sizes(coco_anchors):
    pixel, _ = coco_anchors
    firsts = [0, 196_608, 245_760, 258_048, 261_120, 261_888]
    for k, (start, stop) in enumerate(zip(firsts[:-1], firsts[1:], strict=True)):
        level = pixel[start:stop]
        heights = level[:, 2] - level[:, 0]
        widths = level[:, 3] - level[:, 1]
        scale = 32 * 2**k
        # ratio order 0.5 (tall), 1, 2 (wide) innermost
        np.testing.assert_allclose(heights[:3], [scale / math.sqrt(0.5), scale, scale / math.sqrt(2)])
        np.testing.assert_allclose(widths[:3], [scale * math.sqrt(0.5), scale, scale * math.sqrt(2)])
        np.testing.assert_allclose(np.sqrt(heights * widths), scale)  # one scale per level
        stride = 4 * 2**k
        centres_y = (level[:, 0] + level[:, 2]) / 2
        centres_x = (level[:, 1] + level[:, 3]) / 2
        n = 1024 // stride
        assert centres_x[3] == stride and centres_y[3 * n] == stride  # x inner, then y
        assert centres_y[-1] == centres_x[-1] == (n - 1) * stride


def test_small_config_count():
    cfg = Config(IMAGE_MAX_DIM=256, IMAGE_MIN_DIM=128)
    anchors = generate_anchors(cfg)
    assert anchors.shape == (3 * (64**2 + 32**2 + 16**2 + 8**2 + 4**2), 4)
    ref = reference_pixel_anchors(256, cfg.RPN_ANCHOR_SCALES, cfg.RPN_ANCHOR_RATIOS, cfg.BACKBONE_STRIDES)
    np.testing.assert_array_equal(anchors, normalize_ref(ref, 256, 256))


def test_normalize_window_vector():
    got = normalize_boxes(np.array([170, 0, 853, 1024], dtype=np.float64), (1024, 1024))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.float32([0.16617791, 0.0, 0.83284456, 1.0]))


def test_normalize_matches_reference_and_roundtrips():
    rng = np.random.default_rng(1)
    y1 = rng.integers(0, 500, 200)
    x1 = rng.integers(0, 700, 200)
    boxes = np.stack([y1, x1, y1 + rng.integers(1, 12, 200), x1 + rng.integers(1, 68, 200)], axis=1)
    norm = normalize_boxes(boxes.astype(np.float64), (512, 768))
    np.testing.assert_array_equal(norm, normalize_ref(boxes, 512, 768))
    back = denormalize_boxes(norm, (512, 768))
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back, boxes)


def test_denormalize_rounds_half_to_even():
    # shape (3, 3): scale 2; 0.25 * 2 = 0.5 -> 0, 0.75 * 2 = 1.5 -> 2; y2: 0.25 * 2 + 1 = 1.5 -> 2
    boxes = np.array([[0.25, 0.75, 0.25, 0.75]], dtype=np.float32)
    np.testing.assert_array_equal(denormalize_boxes(boxes, (3, 3)), [[0, 2, 2, 2]])
    np.testing.assert_array_equal(denormalize_boxes(boxes, (3, 3)), denormalize_ref(boxes, 3, 3))
