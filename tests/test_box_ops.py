"""Box delta application and clipping (SPEC 7 steps 3-4, 10 step 3) against numpy float32."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from app.mrcnn.box_ops import apply_box_deltas, clip_boxes, pad_rows
from tests.reference import apply_deltas_ref, clip_ref


def random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    y1 = rng.uniform(-0.2, 0.9, n)
    x1 = rng.uniform(-0.2, 0.9, n)
    return np.stack([y1, x1, y1 + rng.uniform(0, 0.5, n), x1 + rng.uniform(0, 0.5, n)], 1).astype(np.float32)


def test_apply_deltas_matches_numpy():
    rng = np.random.default_rng(0)
    boxes = random_boxes(rng, 500)
    deltas = rng.normal(0, 0.5, (500, 4)).astype(np.float32)
    got = apply_box_deltas(tf.constant(boxes), tf.constant(deltas)).numpy()
    assert got.dtype == np.float32 and got.shape == (500, 4)
    np.testing.assert_allclose(got, apply_deltas_ref(boxes, deltas), rtol=0, atol=1e-6)


def test_apply_deltas_without_scaling_is_bit_exact():
    # With log dh = log dw = 0 no exp rounding enters: the operation order alone decides the bits.
    rng = np.random.default_rng(1)
    boxes = random_boxes(rng, 500)
    deltas = rng.normal(0, 0.5, (500, 4)).astype(np.float32)
    deltas[:, 2:] = 0
    got = apply_box_deltas(tf.constant(boxes), tf.constant(deltas)).numpy()
    np.testing.assert_array_equal(got, apply_deltas_ref(boxes, deltas))


def test_apply_deltas_semantics():
    box = np.float32([[0.2, 0.4, 0.6, 0.6]])  # h 0.4, w 0.2, centre (0.4, 0.5)
    deltas = np.float32([[0.5, -1.0, np.log(2.0), np.log(0.5)]])
    got = apply_box_deltas(tf.constant(box), tf.constant(deltas)).numpy()[0]
    # centre moves by (0.5 * 0.4, -1 * 0.2) to (0.6, 0.3); size becomes (0.8, 0.1)
    np.testing.assert_allclose(got, [0.2, 0.25, 1.0, 0.35], atol=1e-6)


def test_zero_box_stays_zero():
    got = apply_box_deltas(tf.zeros([1, 4]), tf.constant([[0.3, -0.2, 0.5, 0.1]])).numpy()
    np.testing.assert_array_equal(got, np.zeros((1, 4), np.float32))


def test_clip_matches_numpy():
    rng = np.random.default_rng(2)
    boxes = rng.uniform(-0.5, 1.5, (500, 4)).astype(np.float32)  # includes inverted boxes
    for window in ([0.0, 0.0, 1.0, 1.0], [0.16617791, 0.0, 0.83284456, 1.0], [0.1, 0.2, 0.7, 0.9]):
        got = clip_boxes(tf.constant(boxes), tf.constant(window, tf.float32)).numpy()
        np.testing.assert_array_equal(got, clip_ref(boxes, window))
        wy1, wx1, wy2, wx2 = np.float32(window)
        assert (got[:, [0, 2]] >= wy1).all() and (got[:, [0, 2]] <= wy2).all()
        assert (got[:, [1, 3]] >= wx1).all() and (got[:, [1, 3]] <= wx2).all()


def test_pad_rows():
    x = tf.ones([3, 4])
    got = pad_rows(x, 5).numpy()
    assert got.shape == (5, 4)
    np.testing.assert_array_equal(got[3:], 0)
    np.testing.assert_array_equal(got[:3], 1)
