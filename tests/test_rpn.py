"""RPN head: computing the big levels in bands of rows gives the same predictions as one pass."""

from __future__ import annotations

import numpy as np


def test_banded_rpn_equals_one_pass(coco_model):
    rpn = coco_model.rpn
    rng = np.random.default_rng(3)
    # 150 rows: two full bands of 64 and a short one of 22, each with its halo.
    pyramid = [rng.standard_normal((1, s, s, 256)).astype(np.float32) for s in (150, 75, 38, 19, 10)]
    banded_probs, banded_deltas = (t.numpy() for t in rpn(pyramid))
    rpn.STRIP_ROWS = 10**6
    try:
        probs, deltas = (t.numpy() for t in rpn(pyramid))
    finally:
        del rpn.STRIP_ROWS  # back to the class value
    anchors = 3 * sum(s * s for s in (150, 75, 38, 19, 10))
    assert banded_probs.shape == (1, anchors, 2) and banded_deltas.shape == (1, anchors, 4)
    np.testing.assert_allclose(banded_probs, probs, rtol=0, atol=1e-5)
    np.testing.assert_allclose(banded_deltas, deltas, rtol=0, atol=1e-4)
