"""Molding: turn an RGB image into the network's fixed 1024x1024 input and its image_meta.

Equality with the original hinges on this stage: the resize must be scikit-image's order-1
resize with zero extension and truncation to uint8, and the mean subtraction must be done in
float64 before the cast to float32 (see the notes on each function).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import skimage.transform

from .config import Config
from .errors import ImageError


@dataclass(frozen=True)
class Molded:
    """One image ready for the network, plus what is needed to map results back."""

    image: np.ndarray  # (D, D, 3) float32, mean subtracted
    meta: np.ndarray  # (IMAGE_META_SIZE,) float32
    window: tuple[int, int, int, int]  # (y1, x1, y2, x2) of the real image inside the square
    scale: float
    original_shape: tuple[int, int, int]


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Grayscale becomes 3 equal channels and RGBA loses its alpha, as the original's loader does."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ImageError(f"image must be uint8, got {image.dtype}")
    if image.ndim == 2:
        return np.stack([image] * 3, axis=-1)
    if image.ndim == 3 and image.shape[-1] == 4:
        return image[..., :3]
    if image.ndim == 3 and image.shape[-1] == 3:
        return image
    raise ImageError(f"image must be (H, W), (H, W, 3) or (H, W, 4), got shape {image.shape}")


def resized_shape(height: int, width: int, config: Config) -> tuple[float, int, int]:
    """Scale and new size of "square" mode; Python's round is half-to-even like the original's."""
    scale = max(1.0, config.IMAGE_MIN_DIM / min(height, width))
    longest = max(height, width)
    if round(longest * scale) > config.IMAGE_MAX_DIM:
        scale = config.IMAGE_MAX_DIM / longest
    return scale, round(height * scale), round(width * scale)


def resize_bilinear(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """scikit-image's order-1 resize exactly as the original calls it (float64 result).

    Zero extension darkens the borders of up-scaled images and no anti-aliasing is applied when
    down-scaling; other resizers (TF, OpenCV, PIL) round or clamp differently and change results.
    """
    return skimage.transform.resize(
        image, shape, order=1, mode="constant", cval=0, clip=True,
        preserve_range=True, anti_aliasing=False,
    )


def _mean_tables(mean_pixel: tuple[float, ...]) -> np.ndarray:
    # float32(p - mean) computed in float64 differs by one ulp from float32 arithmetic for many p.
    levels = np.arange(256, dtype=np.float64)
    return np.stack([(levels - m).astype(np.float32) for m in mean_pixel])


def mold(image: np.ndarray, config: Config) -> Molded:
    """Resize to fit the square, pad with zeros, subtract the mean pixel, and build image_meta."""
    image = to_rgb(image)
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise ImageError(f"image has no pixels (shape {image.shape})")
    scale, new_h, new_w = resized_shape(height, width, config)
    if new_h == 0 or new_w == 0:
        raise ImageError(f"image of {height}x{width} pixels is too thin to fit a "
                         f"{config.IMAGE_MAX_DIM}-pixel square (it would shrink to {new_h}x{new_w})")
    dim = config.IMAGE_MAX_DIM
    if scale != 1:
        image = resize_bilinear(image, (new_h, new_w))
    top, left = (dim - new_h) // 2, (dim - new_w) // 2
    padded = np.zeros((dim, dim, 3), dtype=np.uint8)
    # Truncation toward zero (not rounding) is the original's float -> uint8 conversion.
    padded[top:top + new_h, left:left + new_w] = image.astype(np.uint8)
    tables = _mean_tables(config.MEAN_PIXEL)
    molded = np.empty((dim, dim, 3), dtype=np.float32)
    for c in range(3):
        molded[..., c] = tables[c][padded[..., c]]
    window = (top, left, top + new_h, left + new_w)
    meta = np.concatenate([
        [0.0], [height, width, 3], [dim, dim, 3], window, [scale], np.zeros(config.NUM_CLASSES),
    ]).astype(np.float32)
    return Molded(molded, meta, window, scale, (height, width, 3))
