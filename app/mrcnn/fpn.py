"""Feature pyramid: top-down path over C2..C5, then 3x3 smoothing; P6 subsamples P5."""

from __future__ import annotations

import keras
import tensorflow as tf

from .config import Config
from .layers import Conv


def _upsample2(x):
    # Nearest-neighbour x2: each value copied into a 2x2 block.
    return tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)


class FeaturePyramid(keras.layers.Layer):
    """Returns [P2, P3, P4, P5, P6]; no activations anywhere, as in the original."""

    def __init__(self, config: Config, **kwargs):
        super().__init__(name="fpn", **kwargs)
        d = config.TOP_DOWN_PYRAMID_SIZE
        self.lateral = [Conv(f"fpn_c{i}p{i}", d, 1, c) for i, c in ((2, 256), (3, 512), (4, 1024), (5, 2048))]
        self.smooth = [Conv(f"fpn_p{i}", d, 3, d) for i in (2, 3, 4, 5)]
        self.built = True  # no weights of its own: skip Keras' symbolic shape pass

    def call(self, features):
        c2, c3, c4, c5 = features
        p5 = self.lateral[3](c5)
        p4 = _upsample2(p5) + self.lateral[2](c4)
        p3 = _upsample2(p4) + self.lateral[1](c3)
        p2 = _upsample2(p3) + self.lateral[0](c2)
        # Smoothing is applied after the top-down pass, on the un-smoothed sums.
        p2, p3, p4, p5 = (layer(p) for layer, p in zip(self.smooth, (p2, p3, p4, p5), strict=True))
        p6 = p5[:, ::2, ::2, :]  # a 1x1 max-pool with stride 2 is plain subsampling
        return [p2, p3, p4, p5, p6]
