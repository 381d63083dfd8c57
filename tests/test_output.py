"""app.output: folder resolution, 31-character names, computed.json, the 50 MiB budget."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from app.output import (
    MAX_NAME,
    OutputError,
    fit_overlays,
    overlay_name,
    resolve_out_dir,
    write_computed,
    write_file,
)
from app.render import encode_png


def test_out_dir_order(tmp_path):
    assert resolve_out_dir(str(tmp_path / "a"), {"IEXEC_OUT": str(tmp_path / "b")}) == tmp_path / "a"
    assert resolve_out_dir(None, {"IEXEC_OUT": str(tmp_path / "b")}) == tmp_path / "b"
    assert (tmp_path / "b").is_dir()


def test_unwritable_out_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(
        OutputError, match=r"output folder .*file/sub \(IEXEC_OUT\) is not writable: .*--out DIR"
    ):
        resolve_out_dir(None, {"IEXEC_OUT": str(blocker / "sub")})


@pytest.mark.parametrize(
    "index, source, expected",
    [
        (1, "https://example.org/photos/cat.jpg?size=large", "01_cat.png"),
        (12, "0x" + "ab" * 32, "12_0x" + "ab" * 11 + ".png"),
        (3, "weird name (1).JPEG", "03_weird_name_1.png"),
        (4, "https://example.org/", "04_example.png"),
        (5, "???", "05_image.png"),
    ],
)
def test_overlay_names_are_short_and_safe(index, source, expected):
    name = overlay_name(index, source)
    assert len(name) <= MAX_NAME and name.startswith(f"{index:02d}_") and name.endswith(".png")
    assert all(c.isalnum() or c in "._-" for c in name)
    assert name == expected


def test_long_names_are_refused(tmp_path):
    write_file(tmp_path, "x" * 31, b"")
    with pytest.raises(ValueError, match="longer than 31"):
        write_file(tmp_path, "x" * 32, b"")


def test_computed_json(tmp_path):
    results = write_file(tmp_path, "results.json", b"{}")
    assert json.loads(write_computed(tmp_path, results, None).read_text()) == {
        "deterministic-output-path": str(results)
    }
    assert json.loads(write_computed(tmp_path, results, "all 2 inputs failed").read_text()) == {
        "deterministic-output-path": str(results),
        "error-message": "all 2 inputs failed",
    }


def noise_png(side: int, seed: int) -> tuple[bytes, tuple[int, int]]:
    pixels = np.random.default_rng(seed).integers(0, 255, (side, side, 3), dtype=np.uint8)
    return encode_png(Image.fromarray(pixels)), (side, side)


def test_budget_keeps_then_shrinks_then_leaves_out():
    overlays = [noise_png(400, 1), noise_png(400, 2), noise_png(400, 3)]
    size = len(overlays[0][0])
    budget = size + size // 20
    plans = fit_overlays(overlays, budget=budget)
    assert plans[0].data == overlays[0][0] and not plans[0].note
    assert plans[1].data is not None and len(plans[1].data) <= size // 20
    width, height = plans[1].size
    assert plans[1].note == f"overlay shrunk from 400x400 to {width}x{height} to fit the 50 MiB output limit"
    assert Image.open(io.BytesIO(plans[1].data)).size == plans[1].size
    assert plans[2].data is None and plans[2].note == "overlay left out: the 50 MiB output limit is reached"
    assert sum(len(p.data or b"") for p in plans) <= budget
