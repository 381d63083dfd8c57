"""Overlay picture in the spirit of matterport's `display_instances`, drawn with Pillow.

Translucent masks (alpha 0.5), mask contours, dashed boxes and "label score" captions. Unlike the
original, colours are a fixed function of the class and of the instance's rank within its class,
so the same detections always give the same picture; captions get a thin dark outline so that
white text stays readable on bright images.
"""

from __future__ import annotations

import colorsys
import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage.measure import find_contours

GOLDEN = 0.6180339887498949
MASK_ALPHA = 0.5
BOX_ALPHA = round(0.7 * 255)


def instance_colour(class_id: int, rank: int) -> tuple[float, float, float]:
    """RGB in [0, 1]: the hue follows the class, further instances of a class get darker shades."""
    hue = (class_id * GOLDEN) % 1.0
    value = (1.0, 0.8, 0.62)[rank % 3]
    return colorsys.hsv_to_rgb(hue, 1.0, value)


def _nearest_rows(n_out: int, n_in: int) -> np.ndarray:
    return np.minimum(((np.arange(n_out) + 0.5) * n_in / n_out).astype(np.int64), n_in - 1)


def _dashed_line(
    draw: ImageDraw.ImageDraw,
    p0: tuple[float, float],
    p1: tuple[float, float],
    fill: tuple[int, int, int, int],
    width: int,
    dash: float,
    gap: float,
) -> None:
    length = math.dist(p0, p1)
    if length == 0:
        return
    ux, uy = (p1[0] - p0[0]) / length, (p1[1] - p0[1]) / length
    pos = 0.0
    while pos < length:
        end = min(pos + dash, length)
        draw.line(
            [(p0[0] + ux * pos, p0[1] + uy * pos), (p0[0] + ux * end, p0[1] + uy * end)],
            fill=fill,
            width=width,
        )
        pos = end + gap


def render_overlay(
    image: np.ndarray, detections: dict, class_names: list[str], max_side: int = 1600
) -> Image.Image:
    """The overlay as an RGB image, scaled down so that its longer side is at most `max_side`."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    out_w, out_h = max(1, round(width * scale)), max(1, round(height * scale))
    base = Image.fromarray(image)
    if (out_w, out_h) != (width, height):
        base = base.resize((out_w, out_h), Image.Resampling.BILINEAR)
    rows, cols = _nearest_rows(out_h, height), _nearest_rows(out_w, width)

    rois = np.asarray(detections["rois"]).reshape(-1, 4)
    class_ids = np.asarray(detections["class_ids"]).reshape(-1)
    scores = np.asarray(detections["scores"]).reshape(-1)
    masks = np.asarray(detections["masks"])

    # Translucent fill first, on an integer copy: each layer truncates like the original's uint32 blend.
    canvas = np.asarray(base).astype(np.uint32)
    colours, ranks = [], {}
    small_masks = []
    for i, cid in enumerate(class_ids):
        rank = ranks.get(int(cid), 0)
        ranks[int(cid)] = rank + 1
        colour = instance_colour(int(cid), rank)
        colours.append(colour)
        mask = masks[:, :, i][np.ix_(rows, cols)].astype(bool)
        small_masks.append(mask)
        for c in range(3):
            channel = canvas[:, :, c]
            channel[mask] = (channel[mask] * (1 - MASK_ALPHA) + MASK_ALPHA * colour[c] * 255).astype(
                np.uint32
            )
    picture = Image.fromarray(canvas.astype(np.uint8), "RGB")

    draw = ImageDraw.Draw(picture)
    for mask, colour in zip(small_masks, colours, strict=True):
        padded = np.pad(mask.astype(np.uint8), 1)
        rgb = tuple(round(v * 255) for v in colour)
        for contour in find_contours(padded, 0.5):
            points = [(float(x) - 1, float(y) - 1) for y, x in contour]
            draw.line(points + points[:1], fill=rgb, width=1)

    layer = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    ldraw = ImageDraw.Draw(layer)
    line = max(2, round(2 * max(out_w, out_h) / 1024))
    font = ImageFont.load_default(max(11, round(max(out_w, out_h) / 90)))
    for (y1, x1, y2, x2), cid, score, colour in zip(rois, class_ids, scores, colours, strict=True):
        if not (y1 or x1 or y2 or x2):
            continue  # all-zero box: the original skips these too
        rgba = (*(round(v * 255) for v in colour), BOX_ALPHA)
        sx1, sy1, sx2, sy2 = x1 * scale, y1 * scale, x2 * scale, y2 * scale
        corners = [(sx1, sy1), (sx2, sy1), (sx2, sy2), (sx1, sy2)]
        for k in range(4):
            _dashed_line(ldraw, corners[k], corners[(k + 1) % 4], rgba, line, dash=4 * line, gap=2 * line)
        name = class_names[int(cid)] if 0 <= int(cid) < len(class_names) else f"class {int(cid)}"
        caption = f"{name} {float(score):.3f}" if score else name
        ldraw.text(
            (sx1, sy1 + 8 * line / 2),
            caption,
            font=font,
            fill=(255, 255, 255, 255),
            anchor="ls",
            stroke_width=1,
            stroke_fill=(0, 0, 0, 160),
        )
    return Image.alpha_composite(picture.convert("RGBA"), layer).convert("RGB")


def encode_png(picture: Image.Image) -> bytes:
    """PNG bytes; fixed encoder settings so the same picture always gives the same file."""
    buf = io.BytesIO()
    picture.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def shrink_png(png: bytes, factor: float) -> tuple[bytes, tuple[int, int]]:
    """Re-encode a PNG scaled by `factor` (< 1), returning the bytes and the new (width, height)."""
    with Image.open(io.BytesIO(png)) as im:
        size = (max(1, round(im.width * factor)), max(1, round(im.height * factor)))
        return encode_png(im.convert("RGB").resize(size, Image.Resampling.BILINEAR)), size
