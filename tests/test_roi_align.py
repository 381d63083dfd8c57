"""Pyramid ROI align (SPEC 8, 16): level assignment, crop_and_resize sampling, box order restored."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from app.mrcnn.roi_align import assign_levels, pyramid_roi_align
from tests.reference import crop_and_resize_ref, level_ref

AREA = 1024.0 * 1024.0


def square(n: int) -> list[float]:
    side = (n - 1) / 1023
    return [0.0, 0.0, side, side]


def expected_level(n: int) -> int:
    return 2 if n <= 80 else 3 if n <= 159 else 4 if n <= 317 else 5


def test_level_vectors_all_square_sizes():
    sizes = np.arange(1, 1025)
    boxes = tf.constant([square(int(n)) for n in sizes], tf.float32)
    got = assign_levels(boxes, AREA).numpy()
    want = np.array([expected_level(int(n)) for n in sizes])
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("n", "level"), [(80, 2), (81, 3), (159, 3), (160, 4), (224, 4), (317, 4),
                                          (318, 5), (1024, 5)])
def test_level_boundaries(n, level):
    assert assign_levels(tf.constant([square(n)], tf.float32), AREA).numpy().tolist() == [level]


def test_zero_box_goes_to_p2():
    boxes = tf.constant([[0, 0, 0, 0], [0.5, 0.5, 0.5, 0.9], [0.3, 0.2, 0.3, 0.2]], tf.float32)
    assert assign_levels(boxes, AREA).numpy().tolist() == [2, 2, 2]


def test_levels_match_numpy_reference():
    rng = np.random.default_rng(0)
    y1, x1 = rng.uniform(0, 0.5, (2, 2000))
    side = np.exp(rng.uniform(np.log(0.005), np.log(1.0), (2, 2000)))
    boxes = np.stack([y1, x1, y1 + side[0], x1 + side[1]], 1).astype(np.float32)
    np.testing.assert_array_equal(assign_levels(tf.constant(boxes), AREA).numpy(), level_ref(boxes, AREA))


def test_crop_and_resize_vector():
    # box (0.1, 0.2, 0.9, 1.1): sqrt(0.8 * 0.9) / (224 / 1024) -> log2 1.96 -> level 6 -> clamped to P5
    p5 = (5 * np.arange(5)[:, None] + np.arange(5)[None, :]).astype(np.float32)
    rng = np.random.default_rng(1)
    pyramid = [tf.constant(rng.normal(size=(1, s, s, 1)), tf.float32) for s in (20, 10, 8)]
    pyramid.append(tf.constant(p5[None, :, :, None]))
    got = pyramid_roi_align(tf.constant([[0.1, 0.2, 0.9, 1.1]]), pyramid, 3, AREA).numpy()
    assert got.shape == (1, 3, 3, 1)
    want = np.float32([[2.8, 4.6000004, 0], [10.799999, 12.6, 0], [18.8, 20.6, 0]])
    np.testing.assert_array_equal(got[0, :, :, 0], want)
    np.testing.assert_array_equal(crop_and_resize_ref(p5[:, :, None], [0.1, 0.2, 0.9, 1.1], 3)[..., 0], want)


def random_boxes(rng: np.random.Generator) -> np.ndarray:
    boxes = []
    for side in (0.03, 0.12, 0.25, 0.6):  # roughly P2, P3, P4, P5 in a 1024 image
        for _ in range(6):
            h, w = side * rng.uniform(0.6, 1.5, 2)
            y1, x1 = rng.uniform(-0.1, 1.0 - 0.5 * side, 2)  # some boxes stick out of the map
            boxes.append([y1, x1, y1 + h, x1 + w])
    boxes.append([0, 0, 0, 0])
    boxes = np.array(boxes, dtype=np.float32)
    return boxes[rng.permutation(len(boxes))]  # levels interleaved: the output order must be restored


@pytest.mark.parametrize("pool", [7, 14])
def test_pyramid_roi_align_matches_numpy_reference(pool):
    rng = np.random.default_rng(pool)
    maps = [rng.normal(size=(s, s, 3)).astype(np.float32) for s in (32, 16, 8, 4)]
    boxes = random_boxes(rng)
    levels = level_ref(boxes, AREA)
    assert set(levels.tolist()) == {2, 3, 4, 5}
    got = pyramid_roi_align(tf.constant(boxes), [tf.constant(m[None]) for m in maps], pool, AREA).numpy()
    assert got.shape == (len(boxes), pool, pool, 3) and got.dtype == np.float32
    for i, (box, level) in enumerate(zip(boxes, levels, strict=True)):
        want = crop_and_resize_ref(maps[level - 2], box, pool)
        np.testing.assert_allclose(got[i], want, rtol=0, atol=2e-5, err_msg=f"box {i} level {level}")
    zero = int(np.flatnonzero(~boxes.any(axis=1))[0])
    np.testing.assert_array_equal(got[zero], np.broadcast_to(maps[0][0, 0], (pool, pool, 3)))


def test_pyramid_roi_align_empty_levels_and_single_level():
    rng = np.random.default_rng(5)
    maps = [tf.constant(rng.normal(size=(1, s, s, 2)), tf.float32) for s in (16, 8, 4, 2)]
    boxes = np.float32([[0.1, 0.1, 0.12, 0.13], [0.5, 0.5, 0.52, 0.53]])  # both P2
    got = pyramid_roi_align(tf.constant(boxes), maps, 7, AREA).numpy()
    for i in range(2):
        np.testing.assert_allclose(got[i], crop_and_resize_ref(maps[0].numpy()[0], boxes[i], 7), atol=2e-5)


def test_pyramid_roi_align_no_boxes():
    maps = [tf.zeros([1, s, s, 2]) for s in (16, 8, 4, 2)]
    got = pyramid_roi_align(tf.zeros([0, 4]), maps, 14, AREA)
    assert tuple(got.shape) == (0, 14, 14, 2)
