"""app.render: deterministic overlays with matterport's blend, contours, boxes and captions."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from app.render import encode_png, instance_colour, render_overlay, shrink_png

NAMES = ["BG", "person", "cat"]


def scene(h: int = 60, w: int = 80) -> tuple[np.ndarray, dict]:
    image = np.full((h, w, 3), 100, np.uint8)
    masks = np.zeros((h, w, 2), bool)
    masks[10:30, 10:40, 0] = True
    masks[35:55, 45:75, 1] = True
    detections = {
        "rois": np.array([[10, 10, 30, 40], [35, 45, 55, 75]], np.int32),
        "class_ids": np.array([1, 2], np.int32),
        "scores": np.array([0.98765, 0.75], np.float32),
        "masks": masks,
    }
    return image, detections


def test_same_detections_same_png_bytes():
    image, det = scene()
    assert encode_png(render_overlay(image, det, NAMES)) == encode_png(render_overlay(image, det, NAMES))


def test_colours_depend_only_on_class_and_rank():
    assert instance_colour(1, 0) == instance_colour(1, 0)
    assert instance_colour(1, 0) != instance_colour(2, 0)
    assert instance_colour(1, 0) != instance_colour(1, 1)  # a second person is told apart


def test_mask_fill_is_the_half_alpha_blend():
    image, det = scene()
    out = np.asarray(render_overlay(image, det, NAMES))
    colour = instance_colour(1, 0)
    expected = [int(100 * 0.5 + 0.5 * c * 255) for c in colour]
    assert out[20, 25].tolist() == expected  # inside the first mask, away from contour, box and caption
    assert out[2, 78].tolist() == [100, 100, 100]  # outside everything: untouched


def test_contour_box_and_caption_are_drawn():
    image, det = scene()
    det["rois"][0] = [4, 4, 36, 46]  # box larger than the mask, so box and contour are apart
    out = np.asarray(render_overlay(image, det, NAMES)).astype(int)
    edge = [round(c * 255) for c in instance_colour(1, 0)]
    assert (out[16:29, 8:12] == edge).all(axis=-1).sum() >= 10  # opaque contour along the mask's left edge
    box_row = out[3:6, 20:40]  # dashed top edge of the box: some pixels tinted, not all (gaps)
    tinted = (box_row != 100).any(axis=-1)
    assert tinted.any() and not tinted.all()
    caption = out[5:14, 5:40]
    assert (caption >= 230).all(axis=-1).sum() > 10  # white "person 0.988" text at the box's top-left
    assert out[2, 78].tolist() == [100, 100, 100]


def test_no_detections_leaves_the_image_as_it_is():
    image = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    empty = {
        "rois": np.zeros((0, 4), np.int32),
        "class_ids": np.zeros(0, np.int32),
        "scores": np.zeros(0, np.float32),
        "masks": np.zeros((30, 40, 0)),
    }
    assert np.array_equal(np.asarray(render_overlay(image, empty, NAMES)), image)


def test_large_images_are_scaled_down():
    image, det = scene(600, 800)
    picture = render_overlay(image, det, NAMES, max_side=200)
    assert picture.size == (200, 150)


def test_shrink_png():
    image, det = scene()
    small, size = shrink_png(encode_png(render_overlay(image, det, NAMES)), 0.5)
    assert size == (40, 30)
    assert Image.open(io.BytesIO(small)).size == (40, 30)
