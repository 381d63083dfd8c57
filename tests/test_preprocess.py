"""Molding (SPEC 2, 16): scale, resize, padding, window, mean subtraction, image_meta, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from app.mrcnn import ImageError
from app.mrcnn.config import Config
from app.mrcnn.preprocess import mold, resized_shape, to_rgb
from tests.reference import resize_ref

MEAN = np.array([123.7, 116.8, 103.9])

# SPEC 16 molding table: (H, W) -> scale, resized (h', w'), window
MOLDING = [
    ((512, 768), 1.3333333333333333, (683, 1024), (170, 0, 853, 1024)),
    ((768, 512), 1.3333333333333333, (1024, 683), (0, 170, 1024, 853)),
    ((512, 512), 1.5625, (800, 800), (112, 112, 912, 912)),
    ((480, 640), 1.6, (768, 1024), (128, 0, 896, 1024)),
    ((600, 601), 1.3333333333333333, (800, 801), (112, 111, 912, 912)),
    ((100, 150), 6.826666666666667, (683, 1024), (170, 0, 853, 1024)),
    ((800, 1024), 1, (800, 1024), (112, 0, 912, 1024)),
    ((900, 1000), 1, (900, 1000), (62, 12, 962, 1012)),
    ((1080, 1920), 0.5333333333333333, (576, 1024), (224, 0, 800, 1024)),
    ((2000, 3000), 0.3413333333333333, (683, 1024), (170, 0, 853, 1024)),
]


def molded_uint8(molded_image: np.ndarray) -> np.ndarray:
    """Recover the padded uint8 image from the mean-subtracted float32 one."""
    return np.rint(molded_image.astype(np.float64) + MEAN).astype(np.int64)


@pytest.mark.parametrize(("shape", "scale", "resized", "window"), MOLDING)
def test_molding_table(shape, scale, resized, window):
    cfg = Config()
    got_scale, new_h, new_w = resized_shape(*shape, cfg)
    assert got_scale == scale  # exact float64, as image_meta carries it
    assert (new_h, new_w) == resized
    image = np.full(shape + (3,), 200, dtype=np.uint8)
    molded = mold(image, cfg)
    assert molded.window == window
    assert molded.scale == scale
    assert molded.original_shape == shape + (3,)
    assert molded.image.shape == (1024, 1024, 3) and molded.image.dtype == np.float32
    np.testing.assert_array_equal(molded.meta[7:11], np.float32(window))
    y1, x1, y2, x2 = window
    pixels = molded_uint8(molded.image)
    inside = np.zeros((1024, 1024), dtype=bool)
    inside[y1:y2, x1:x2] = True
    assert (pixels[~inside] == 0).all()  # zero padding outside the window
    # inside: 200 everywhere except the darkened border of up-scaled images (clipped at 200 anyway)
    assert (pixels[inside] == 200).all()


def test_image_meta_512x768():
    molded = mold(np.zeros((512, 768, 3), dtype=np.uint8), Config())
    want = [0, 512, 768, 3, 1024, 1024, 3, 170, 0, 853, 1024, 1.3333333333333333] + [0] * 81
    assert molded.meta.shape == (93,) and molded.meta.dtype == np.float32
    np.testing.assert_array_equal(molded.meta, np.float32(want))


def test_image_meta_size_follows_class_count():
    molded = mold(np.zeros((8, 8, 3), dtype=np.uint8), Config(NUM_CLASSES=3))
    assert molded.meta.shape == (15,)


def test_resize_vector_4x4_to_6x6():
    # A 6x6 square: scale max(1, 6/4) = 1.5, 4 * 1.5 = 6 fits, so the resize fills the whole square.
    cfg = Config(IMAGE_MIN_DIM=6, IMAGE_MAX_DIM=6)
    image = (10 * np.arange(16) + 50).reshape(4, 4).astype(np.uint8)
    molded = mold(image, cfg)
    assert molded.window == (0, 0, 6, 6)
    want = np.array([[50, 50, 51, 56, 62, 55], [58, 75, 81, 88, 95, 83], [80, 101, 108, 115, 121, 105],
                     [102, 128, 135, 141, 148, 127], [125, 155, 161, 168, 175, 150],
                     [118, 145, 151, 156, 162, 138]])
    pixels = molded_uint8(molded.image)
    for c in range(3):  # grayscale replicated into three channels
        np.testing.assert_array_equal(pixels[..., c], want)
    np.testing.assert_array_equal(np.trunc(resize_ref(image, 6, 6)), want)  # the reference agrees


@pytest.mark.parametrize(("shape", "min_dim", "max_dim"), [
    ((23, 37), 40, 64),     # up-scaling, non-integer factor (border darkening)
    ((90, 61), 40, 64),     # down-scaling (no anti-aliasing)
    ((64, 50), 40, 64),     # scale 1: no resize, stays uint8
])
def test_mold_matches_numpy_reference(shape, min_dim, max_dim):
    cfg = Config(IMAGE_MIN_DIM=min_dim, IMAGE_MAX_DIM=max_dim)
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(20, 240, shape + (3,), dtype=np.uint8)
    image[0, 0] = (7, 250, 128)  # global min/max taken over all channels
    h, w = shape
    scale = max(1.0, min_dim / min(h, w))
    if round(max(h, w) * scale) > max_dim:
        scale = max_dim / max(h, w)
    nh, nw = round(h * scale), round(w * scale)
    resized = image if scale == 1 else resize_ref(image, nh, nw)
    top, left = (max_dim - nh) // 2, (max_dim - nw) // 2
    padded = np.zeros((max_dim, max_dim, 3))
    padded[top:top + nh, left:left + nw] = resized
    want = (np.trunc(padded) - MEAN).astype(np.float32)  # truncation, then float64 mean subtraction

    molded = mold(image, cfg)
    assert molded.window == (top, left, top + nh, left + nw)
    np.testing.assert_array_equal(molded.image, want)


def test_mean_subtraction_bit_patterns():
    cfg = Config(IMAGE_MIN_DIM=8, IMAGE_MAX_DIM=8)  # 6x8 image: no resize, 1 padding row each side
    image = np.zeros((6, 8, 3), dtype=np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 60, 53, 72
    molded = mold(image, cfg)
    assert molded.window == (1, 0, 7, 8)
    bits = molded.image.view(np.uint32)
    assert bits[3, 3, 0] == 0xC27ECCCD  # R 60 -> -63.7 (float32 arithmetic would give ...CCC)
    assert bits[3, 3, 1] == 0xC27F3333  # G 53 -> -63.8
    assert bits[3, 3, 2] == 0xC1FF3333  # B 72 -> -31.9
    np.testing.assert_array_equal(molded.image[0, 0], np.float32([-123.7, -116.8, -103.9]))  # padding


def test_mean_subtraction_all_levels():
    cfg = Config(IMAGE_MIN_DIM=16, IMAGE_MAX_DIM=16)
    image = np.arange(256, dtype=np.uint8).reshape(16, 16)
    rgb = np.stack([image, image[::-1], image.T], axis=-1)
    molded = mold(rgb, cfg)
    want = (rgb.astype(np.float64) - MEAN).astype(np.float32)
    np.testing.assert_array_equal(molded.image.view(np.uint32), want.view(np.uint32))


def test_grayscale_becomes_three_channels():
    gray = np.random.default_rng(3).integers(0, 256, (20, 30), dtype=np.uint8)
    rgb = to_rgb(gray)
    assert rgb.shape == (20, 30, 3)
    for c in range(3):
        np.testing.assert_array_equal(rgb[..., c], gray)
    cfg = Config(IMAGE_MIN_DIM=32, IMAGE_MAX_DIM=64)
    np.testing.assert_array_equal(mold(gray, cfg).image, mold(np.stack([gray] * 3, -1), cfg).image)


def test_rgba_drops_alpha_without_compositing():
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (20, 30, 1), dtype=np.uint8)
    rgba = np.concatenate([rgb, alpha], axis=-1)
    np.testing.assert_array_equal(to_rgb(rgba), rgb)
    cfg = Config(IMAGE_MIN_DIM=32, IMAGE_MAX_DIM=64)
    molded = mold(rgba, cfg)
    np.testing.assert_array_equal(molded.image, mold(rgb, cfg).image)
    assert molded.original_shape == (20, 30, 3)
    assert molded.meta[3] == 3


@pytest.mark.parametrize("image", [
    np.zeros((10, 10, 2), dtype=np.uint8),
    np.zeros((10, 10, 1), dtype=np.uint8),
    np.zeros((10, 10, 5), dtype=np.uint8),
    np.zeros((1, 10, 10, 3), dtype=np.uint8),
    np.zeros((10,), dtype=np.uint8),
    np.zeros((10, 10, 3), dtype=np.float32),
    np.zeros((10, 10, 3), dtype=np.uint16),
    np.zeros((0, 10, 3), dtype=np.uint8),
    np.zeros((10, 0), dtype=np.uint8),
], ids=["2ch", "1ch", "5ch", "4d", "1d", "float32", "uint16", "empty-h", "empty-w-gray"])
def test_bad_images_raise_image_error(image):
    with pytest.raises(ImageError) as info:
        mold(image, Config())
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_image_too_thin_to_resize_is_refused():
    with pytest.raises(ImageError, match="too thin"):
        mold(np.zeros((1, 3000, 3), np.uint8), Config())
