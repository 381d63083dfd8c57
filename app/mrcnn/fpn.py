"""Feature pyramid: top-down path over C2..C5, then 3x3 smoothing; P6 subsamples P5."""

from __future__ import annotations

import keras
import tensorflow as tf

from .config import Config
from .layers import Conv


def _add_upsampled(coarse, fine):
    """Nearest-neighbour x2 up-sampling of `coarse` (each value copied to a 2x2 block) plus `fine`.

    Broadcasting over a (h, 2, w, 2) view of `fine` gives the same sums without materialising
    the up-sampled map (64 MB at P2).
    """
    shape = tf.shape(fine)
    blocks = tf.reshape(fine, [shape[0], shape[1] // 2, 2, shape[2] // 2, 2, shape[3]])
    return tf.reshape(coarse[:, :, None, :, None, :] + blocks, shape)


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
        p4 = _add_upsampled(p5, self.lateral[2](c4))
        p3 = _add_upsampled(p4, self.lateral[1](c3))
        p2 = _add_upsampled(p3, self.lateral[0](c2))
        # Smoothing is applied after the top-down pass, on the un-smoothed sums.
        p2, p3, p4, p5 = (layer(p) for layer, p in zip(self.smooth, (p2, p3, p4, p5), strict=True))
        p6 = p5[:, ::2, ::2, :]  # a 1x1 max-pool with stride 2 is plain subsampling
        return [p2, p3, p4, p5, p6]
