"""Bytes of a stranger's file → RGB uint8 array, or a one-line reason why not.

The type is decided from the first bytes, never from a file name or a Content-Type, and Pillow is
only ever asked to parse that one format, so no other parser sees hostile data.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

DEFAULT_MAX_PIXELS = 4096 * 4096

# (magic test, Pillow format name)
_IMAGE_MAGIC = (
    (lambda b: b.startswith(b"\xff\xd8\xff"), "JPEG"),
    (lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"), "PNG"),
    (lambda b: b[:6] in (b"GIF87a", b"GIF89a"), "GIF"),
    (lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP", "WEBP"),
    (lambda b: b[:2] == b"BM", "BMP"),
    (lambda b: b[:4] in (b"II*\x00", b"MM\x00*"), "TIFF"),
)


class DecodeError(Exception):
    """The data is not a usable image; the message is one line for the requester."""


@dataclass(frozen=True)
class Decoded:
    image: np.ndarray  # (H, W, 3) uint8, C-contiguous, EXIF orientation applied
    format: str  # JPEG, PNG, ...
    mode: str  # Pillow mode of the file before conversion (e.g. CMYK, P, I;16)
    frames: int  # > 1 for animations (only the first frame is used)


def sniff(data: bytes) -> str:
    """Pillow format name of an accepted image type; DecodeError naming what the bytes look like."""
    if not data:
        raise DecodeError("empty file (0 bytes)")
    for test, fmt in _IMAGE_MAGIC:
        if test(data):
            return fmt
    accepted = "JPEG, PNG, GIF, WebP, BMP, TIFF"
    raise DecodeError(f"not a supported image ({_describe_other(data)}; accepted: {accepted})")


def _describe_other(data: bytes) -> str:
    head = data[:512].lstrip().lower()
    if head.startswith(b"%pdf"):
        return "looks like PDF"
    if b"<svg" in head:
        return "looks like SVG"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "looks like HTML"
    if head.startswith(b"<?xml") or head.startswith(b"<"):
        return "looks like XML/markup"
    if data.startswith(b"PK\x03\x04"):
        return "looks like a zip archive"
    if head.startswith((b"{", b"[")):
        return "looks like JSON"
    return f"unknown data starting with {data[:8].hex()}"


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode → RGB; transparency is composited over white (what a viewer shows)."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit (or 32-bit int) grey: scale the full 16-bit range to 8 bits, not Pillow's clip at 255.
        arr = np.asarray(im).astype(np.float64)
        grey = np.clip(np.round(arr / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if im.mode == "F":
        return Image.fromarray(np.clip(np.asarray(im), 0, 255).astype(np.uint8), "L").convert("RGB")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        im.mode in ("P", "L", "RGB") and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def decode(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Decoded:
    """Decode an image file's bytes; raises DecodeError with a one-line reason."""
    fmt = sniff(data)
    with warnings.catch_warnings():
        # We enforce our own pixel limit below; Pillow's warning would only add noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=[fmt])
        except Image.DecompressionBombError as e:
            # Pillow's own limit (above ours unless --max-pixels was raised) already refused it.
            found = re.search(r"\((\d+) pixels\)", str(e))
            size = f"{found.group(1)} pixels" if found else "too many pixels"
            raise DecodeError(f"image too large: {size} > limit {max_pixels} (--max-pixels)") from None
        except (OSError, SyntaxError, ValueError) as e:
            raise DecodeError(f"invalid {fmt} data ({_short(e)})") from None
        width, height = im.size
        if width <= 0 or height <= 0:
            raise DecodeError(f"invalid {fmt} data (size {width}x{height})")
        if width * height > max_pixels:
            pixels = f"{width}x{height} = {width * height} pixels"
            raise DecodeError(f"image too large: {pixels} > limit {max_pixels} (--max-pixels)")
        frames = getattr(im, "n_frames", 1)
        mode = im.mode
        try:
            im.seek(0)
            im.load()
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            msg = _short(e)
            if "truncated" in msg or "broken data stream" in msg or isinstance(e, EOFError):
                raise DecodeError(f"truncated {fmt} data ({msg})") from None
            raise DecodeError(f"invalid {fmt} data ({msg})") from None
        try:
            upright = ImageOps.exif_transpose(im)
        except Exception:  # a corrupt EXIF block must not cost the picture: keep it as stored
            upright = im
        rgb = _to_rgb(upright if upright is not None else im)
    arr = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    return Decoded(image=arr, format=fmt, mode=mode, frames=frames)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
