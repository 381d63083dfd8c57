"""Small test images in every shape the decoder must take (and some it must refuse), as bytes."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image
from skimage import data as skdata


def photo(width: int = 192, height: int = 128) -> np.ndarray:
    """scikit-image's astronaut (public domain), scaled down (random weights find things in it)."""
    return np.asarray(Image.fromarray(skdata.astronaut()).resize((width, height), Image.Resampling.BILINEAR))


def encode(im: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


def jpeg(width: int = 192, height: int = 128) -> bytes:
    return encode(Image.fromarray(photo(width, height)), "JPEG", quality=90)


def png(width: int = 192, height: int = 128) -> bytes:
    return encode(Image.fromarray(photo(width, height)), "PNG")


def png16() -> bytes:
    """16-bit greyscale PNG (mode I;16) of the photo's luminance spread over the full 16-bit range."""
    grey = np.asarray(Image.fromarray(photo()).convert("L")).astype(np.uint16) * 257
    return encode(Image.fromarray(grey), "PNG")


def cmyk_jpeg() -> bytes:
    return encode(Image.fromarray(photo()).convert("CMYK"), "JPEG", quality=90)


def palette_png_transparent() -> bytes:
    """Palette PNG whose palette index 0 is transparent; the top-left 16x16 block uses index 0."""
    im = Image.fromarray(photo()).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    arr = np.asarray(im).copy()
    arr[arr == 0] = 1
    arr[:16, :16] = 0
    out = Image.fromarray(arr, "P")
    out.putpalette(im.getpalette())
    return encode(out, "PNG", transparency=0)


def exif_rotated_jpeg() -> bytes:
    """Stored 192 wide x 128 high with EXIF orientation 6: shown upright it is 128 wide x 192 high."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(Image.fromarray(photo()), "JPEG", quality=90, exif=exif.tobytes())


def animated_gif() -> bytes:
    """Three frames; the first is the photo, the others plain colours."""
    first = Image.fromarray(photo())
    others = [Image.new("RGB", first.size, colour) for colour in ("red", "blue")]
    return encode(first, "GIF", save_all=True, append_images=others, duration=100, loop=0)


def truncated_jpeg() -> bytes:
    whole = jpeg()
    return whole[: len(whole) // 2]


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb(width: int = 60000, height: int = 60000) -> bytes:
    """A tiny PNG whose header announces width x height 1-bit pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\0" + b"\0" * ((width + 7) // 8)
    body = zlib.compress(row * 16, 9)  # a few rows suffice: the size check must refuse before decoding
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


HTML = b"<!DOCTYPE html>\n<html><head><title>Not an image</title></head><body>hello</body></html>\n"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>\n'
PDF = b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\n%%EOF\n"
