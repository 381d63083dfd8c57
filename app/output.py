"""The output folder and what goes into it, within the iExec worker's limits.

The worker fails a task whose result holds a file name longer than 31 characters, and the iApp
tester refuses more than 50 MiB of output, so every name is checked here and overlays are
shrunk or left out (with a note in the results) rather than exceed the budget.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .render import shrink_png

MAX_NAME = 31
OUTPUT_LIMIT = 50 * 1024 * 1024
# Room kept for computed.json, timings.json and the stdout.txt/stderr.txt the worker adds.
RESERVE = 1024 * 1024
MIN_OVERLAY_SIDE = 64
DEFAULT_OUT = "/iexec"

RESULTS_NAME = "results.json"
COCO_NAME = "coco_results.json"
TIMINGS_NAME = "timings.json"
COMPUTED_NAME = "computed.json"


class OutputError(Exception):
    """The output folder cannot be used; one-line message."""


def resolve_out_dir(cli_out: str | None, env: Mapping[str, str]) -> Path:
    """--out, else $IEXEC_OUT, else /iexec; created if missing and checked writable."""
    if cli_out:
        out, origin = Path(cli_out), "--out"
    elif env.get("IEXEC_OUT"):
        out, origin = Path(env["IEXEC_OUT"]), "IEXEC_OUT"
    else:
        out, origin = Path(DEFAULT_OUT), "default"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass  # creating a file is the only reliable test that we may write here
    except OSError as e:
        reason = e.strerror or str(e)
        raise OutputError(
            f"output folder {out} ({origin}) is not writable: {reason}; pass --out DIR or set IEXEC_OUT"
        ) from None
    return out.resolve()


def overlay_name(index: int, source: str) -> str:
    """`NN_<stem>.png`, ≤ 31 characters, only [A-Za-z0-9._-]; unique through the index prefix."""
    stem = source.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    stem = stem.rsplit(".", 1)[0] if "." in stem[1:] else stem
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_") or "image"
    prefix = f"{index:02d}_"
    name = prefix + stem[: MAX_NAME - len(prefix) - len(".png")] + ".png"
    assert len(name) <= MAX_NAME
    return name


def write_file(out_dir: Path, name: str, data: bytes) -> Path:
    """Write one result file; a name the worker would reject is a bug, so it is asserted."""
    if len(name) > MAX_NAME or "/" in name:
        raise ValueError(f"result file name {name!r} is longer than {MAX_NAME} characters")
    path = out_dir / name
    path.write_bytes(data)
    return path


def write_computed(out_dir: Path, results_path: Path, error: str | None) -> Path:
    """computed.json: the canonical file as the proof, plus `error-message` when the task failed."""
    computed: dict[str, str] = {"deterministic-output-path": str(results_path)}
    if error:
        computed["error-message"] = error
    return write_file(
        out_dir, COMPUTED_NAME, (json.dumps(computed, indent=2, sort_keys=True) + "\n").encode()
    )


@dataclass
class OverlayPlan:
    data: bytes | None  # None: left out
    size: tuple[int, int]  # width, height as written
    note: str = ""


def fit_overlays(overlays: list[tuple[bytes, tuple[int, int]]], budget: int) -> list[OverlayPlan]:
    """Keep overlays in input order while they fit `budget` bytes; one that does not is scaled down
    to what is left, or left out when that would make it smaller than 64 pixels. Deterministic:
    the outcome depends only on the PNG bytes."""
    plans = []
    left = budget
    limit = f"{OUTPUT_LIMIT // (1024 * 1024)} MiB output limit"
    for png, size in overlays:
        if len(png) <= left:
            plans.append(OverlayPlan(png, size))
            left -= len(png)
            continue
        factor = math.sqrt(max(left, 0) / len(png)) * 0.9  # PNG size grows roughly with the area
        if min(size) * factor >= MIN_OVERLAY_SIDE:
            small, (w, h) = shrink_png(png, factor)
            if len(small) <= left:
                note = f"overlay shrunk from {size[0]}x{size[1]} to {w}x{h} to fit the {limit}"
                plans.append(OverlayPlan(small, (w, h), note))
                left -= len(small)
                continue
        plans.append(OverlayPlan(None, size, f"overlay left out: the {limit} is reached"))
    return plans


def output_size(out_dir: Path) -> int:
    """Total bytes of the regular files at the top of the output folder."""
    return sum(entry.stat().st_size for entry in os.scandir(out_dir) if entry.is_file())
