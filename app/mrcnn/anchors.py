"""Anchor boxes of the feature pyramid, in the order the RPN head emits its predictions."""

from __future__ import annotations

import math

import numpy as np

from .config import Config


def feature_shapes(config: Config) -> list[tuple[int, int]]:
    dim = config.IMAGE_MAX_DIM
    return [(math.ceil(dim / s), math.ceil(dim / s)) for s in config.BACKBONE_STRIDES]


def level_anchors(scale: float, ratios: tuple[float, ...], shape: tuple[int, int], stride: int,
                  anchor_stride: int = 1) -> np.ndarray:
    """Pixel anchors (y1, x1, y2, x2) of one level: cells row-major, the ratios innermost."""
    ratios_arr = np.asarray(ratios, dtype=np.float64)
    heights = scale / np.sqrt(ratios_arr)  # ratio = width / height
    widths = scale * np.sqrt(ratios_arr)
    ys = np.arange(0, shape[0], anchor_stride) * stride  # centres on multiples of the stride
    xs = np.arange(0, shape[1], anchor_stride) * stride
    cy, cx = np.meshgrid(ys, xs, indexing="ij")
    cy = cy.reshape(-1, 1)
    cx = cx.reshape(-1, 1)
    boxes = np.stack([cy - heights / 2, cx - widths / 2, cy + heights / 2, cx + widths / 2], axis=-1)
    return boxes.reshape(-1, 4)


def pixel_anchors(config: Config) -> np.ndarray:
    """All pyramid anchors in pixels (float64), levels P2..P6 concatenated."""
    return np.concatenate([
        level_anchors(scale, config.RPN_ANCHOR_RATIOS, shape, stride, config.RPN_ANCHOR_STRIDE)
        for scale, shape, stride in zip(
            config.RPN_ANCHOR_SCALES, feature_shapes(config), config.BACKBONE_STRIDES, strict=True)
    ])


def normalize_boxes(boxes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixel boxes (y2/x2 exclusive) to normalised ones (inclusive, divided by size - 1)."""
    h, w = shape
    scale = np.array([h - 1, w - 1, h - 1, w - 1], dtype=np.float64)
    shift = np.array([0, 0, 1, 1], dtype=np.float64)
    return ((boxes - shift) / scale).astype(np.float32)


def denormalize_boxes(boxes: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Inverse of `normalize_boxes`, rounding half-to-even to int32 pixels."""
    h, w = shape
    scale = np.array([h - 1, w - 1, h - 1, w - 1], dtype=np.float64)
    shift = np.array([0, 0, 1, 1], dtype=np.float64)
    return np.around(np.multiply(boxes, scale) + shift).astype(np.int32)


def generate_anchors(config: Config) -> np.ndarray:
    """Normalised float32 anchors (A, 4) for the molded square image."""
    dim = config.IMAGE_MAX_DIM
    return normalize_boxes(pixel_anchors(config), (dim, dim))
