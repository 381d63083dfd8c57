"""app.decode: every accepted mode becomes upright RGB uint8; everything else is refused in one line."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.decode import DecodeError, decode, sniff
from tests import sample_images as si


def rgb(data: bytes, **kwargs: int) -> np.ndarray:
    decoded = decode(data, **kwargs)
    assert decoded.image.dtype == np.uint8 and decoded.image.ndim == 3 and decoded.image.shape[2] == 3
    assert decoded.image.flags.c_contiguous
    return decoded.image


def refusal(data: bytes, **kwargs: int) -> str:
    with pytest.raises(DecodeError) as info:
        decode(data, **kwargs)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_png_is_lossless():
    assert np.array_equal(rgb(si.png()), si.photo())


def test_jpeg():
    decoded = decode(si.jpeg())
    assert (decoded.format, decoded.mode, decoded.image.shape) == ("JPEG", "RGB", (128, 192, 3))
    assert np.abs(decoded.image.astype(int) - si.photo().astype(int)).mean() < 6


def test_16_bit_png_uses_the_full_range():
    decoded = decode(si.png16())
    assert decoded.mode == "I;16"
    grey = np.asarray(Image.fromarray(si.photo()).convert("L"))
    assert np.array_equal(decoded.image[:, :, 0], grey)  # value*257 scaled back to value exactly
    assert np.array_equal(decoded.image[:, :, 0], decoded.image[:, :, 2])


def test_cmyk_jpeg():
    decoded = decode(si.cmyk_jpeg())
    assert decoded.mode == "CMYK"
    assert np.abs(decoded.image.astype(int) - si.photo().astype(int)).mean() < 12


def test_palette_png_transparency_becomes_white():
    decoded = decode(si.palette_png_transparent())
    assert decoded.mode == "P"
    assert (decoded.image[:16, :16] == 255).all()
    assert not (decoded.image[20:, 20:] == 255).all()


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "1", "I", "F"])
def test_other_modes_become_rgb(mode):
    im = Image.fromarray(si.photo()).convert(mode)
    out = rgb(si.encode(im, "TIFF" if mode in ("F", "I") else "PNG"))
    assert out.shape == (128, 192, 3)


def test_la_alpha_is_composited_over_white():
    im = Image.new("LA", (4, 4), (0, 0))  # black, fully transparent
    assert (rgb(si.encode(im, "PNG")) == 255).all()


def test_exif_orientation_is_applied():
    decoded = decode(si.exif_rotated_jpeg())
    assert decoded.image.shape == (192, 128, 3)  # upright: taller than wide


def test_exif_orientation_pixels_are_rotated_clockwise():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    stored = si.photo()
    out = rgb(si.encode(Image.fromarray(stored), "PNG", exif=exif.tobytes()))
    assert np.array_equal(out, np.rot90(stored, k=-1))


def test_animated_gif_uses_the_first_frame():
    decoded = decode(si.animated_gif())
    assert decoded.frames == 3
    assert decoded.image.shape == (128, 192, 3)
    assert not (decoded.image[..., 0] > 200).all()  # not the red second frame


def test_webp_and_bmp_are_accepted():
    assert rgb(si.encode(Image.fromarray(si.photo()), "BMP")).shape == (128, 192, 3)
    assert rgb(si.encode(Image.fromarray(si.photo()), "WEBP")).shape == (128, 192, 3)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty file (0 bytes)"),
        (si.HTML, "not a supported image (looks like HTML; accepted: JPEG, PNG, GIF, WebP, BMP, TIFF)"),
        (si.SVG, "not a supported image (looks like SVG; accepted: JPEG, PNG, GIF, WebP, BMP, TIFF)"),
        (si.PDF, "not a supported image (looks like PDF; accepted: JPEG, PNG, GIF, WebP, BMP, TIFF)"),
        (
            b"PK\x03\x04rest",
            "not a supported image (looks like a zip archive; accepted: JPEG, PNG, GIF, WebP, BMP, TIFF)",
        ),
    ],
)
def test_not_images_are_named(data, message):
    assert refusal(data) == message


def test_truncated_jpeg():
    assert refusal(si.truncated_jpeg()).startswith("truncated JPEG data (")


def test_truncated_png():
    whole = si.png()
    assert refusal(whole[: len(whole) // 2]).startswith("truncated PNG data (")


def test_jpeg_header_only_is_invalid():
    assert refusal(b"\xff\xd8\xff\xe0garbage").startswith("invalid JPEG data (")


def test_decompression_bomb_is_refused_from_the_header():
    assert (
        refusal(si.png_bomb(60000, 60000))
        == "image too large: 3600000000 pixels > limit 16777216 (--max-pixels)"
    )
    assert refusal(si.png_bomb(5000, 5000)) == (
        "image too large: 5000x5000 = 25000000 pixels > limit 16777216 (--max-pixels)"
    )


def test_pixel_limit_is_configurable():
    assert refusal(si.png(), max_pixels=1000).startswith(
        "image too large: 192x128 = 24576 pixels > limit 1000"
    )
    assert rgb(si.png(), max_pixels=192 * 128).shape == (128, 192, 3)


def test_type_comes_from_the_bytes():
    assert sniff(si.png()) == "PNG"
    assert sniff(si.jpeg()) == "JPEG"
    assert sniff(si.animated_gif()) == "GIF"
