"""The task's command line: options, their checks, and where the weight file is looked for."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from .decode import DEFAULT_MAX_PIXELS
from .inputs import MAX_INPUTS, UsageError

STANDARD_WEIGHTS = Path("/opt/mrcnn/weights/mask_rcnn_coco.h5")
LOCAL_WEIGHTS = Path("weights") / "mask_rcnn_coco.h5"
REPO_ROOT = Path(__file__).resolve().parent.parent


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage and exit; we record it first
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m app",
        description="Mask R-CNN instance segmentation of images given by URL or path (an iExec task).",
        epilog="Exit codes: 0 at least one input succeeded, 1 all inputs failed, 2 usage error.",
    )
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help=f"http(s) URL or local image file (at most {MAX_INPUTS} inputs in all)",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default: $IEXEC_OUT, else /iexec)")
    p.add_argument(
        "--weights",
        metavar="PATH",
        help=f"weight file (default: $MRCNN_WEIGHTS, else {STANDARD_WEIGHTS}, else {LOCAL_WEIGHTS})",
    )
    p.add_argument(
        "--min-confidence",
        type=float,
        metavar="P",
        help="keep detections scoring at least P (default: the model's 0.7; 0 keeps all)",
    )
    p.add_argument("--classes", metavar="NAMES", help="keep only these classes, e.g. person,car")
    p.add_argument(
        "--class-names",
        metavar="FILE",
        help="names of a custom model's classes, one per line in id order, background first "
        "(default: COCO's for an 81-class file, else 'class N')",
    )
    p.add_argument(
        "--max-download-mb",
        type=float,
        default=20.0,
        metavar="MB",
        help="size limit of one input in MB (default 20)",
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help=f"refuse images with more pixels (default {DEFAULT_MAX_PIXELS})",
    )
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads for inference (default: $MRCNN_THREADS, else the CPUs available)",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="let downloads reach this host even on a private/loopback address "
        "(repeatable; also $MRCNN_ALLOW_HOSTS, comma separated)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="connect and read timeout of one request in seconds (default 10)",
    )
    p.add_argument(
        "--deadline",
        type=float,
        default=60.0,
        metavar="S",
        help="total time for one URL, retries and redirects included (default 60)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=2,
        metavar="N",
        help="extra attempts after a timeout or HTTP 5xx (default 2)",
    )
    p.add_argument(
        "--overlay-max-side",
        type=int,
        default=1600,
        metavar="PX",
        help="overlays larger than this are scaled down (default 1600)",
    )
    p.add_argument("--debug", action="store_true", help="show Python tracebacks")
    return p


def check_options(args: argparse.Namespace) -> None:
    if args.min_confidence is not None and not 0.0 <= args.min_confidence <= 1.0:
        raise UsageError("--min-confidence must be between 0 and 1")
    positive = {
        "--max-download-mb": args.max_download_mb,
        "--max-pixels": args.max_pixels,
        "--timeout": args.timeout,
        "--deadline": args.deadline,
        "--overlay-max-side": args.overlay_max_side,
    }
    for name, value in positive.items():
        if not value > 0:
            raise UsageError(f"{name} must be positive")
    if args.threads is not None and args.threads < 1:
        raise UsageError("--threads must be at least 1")
    if args.retries < 0:
        raise UsageError("--retries must be 0 or more")


def find_weights(cli_path: str | None, env: Mapping[str, str]) -> Path:
    """The weight file to load; FileNotFoundError with a one-line hint when there is none."""
    explicit = cli_path or env.get("MRCNN_WEIGHTS")
    if explicit:
        if not Path(explicit).is_file():
            origin = "--weights" if cli_path else "MRCNN_WEIGHTS"
            raise FileNotFoundError(f"weight file {explicit} ({origin}) not found")
        return Path(explicit)
    for candidate in (STANDARD_WEIGHTS, LOCAL_WEIGHTS, REPO_ROOT / LOCAL_WEIGHTS):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"no weight file at {STANDARD_WEIGHTS} or {LOCAL_WEIGHTS}: run `make weights` or pass --weights PATH"
    )


def read_class_names(path: str | None) -> list[str] | None:
    """Class names from a text file, one per line (blank lines ignored); UsageError if unreadable."""
    if path is None:
        return None
    try:
        names = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--class-names {path}: cannot read it ({e.__class__.__name__})") from None
    names = [n for n in names if n]
    if len(names) < 2:
        raise UsageError(f"--class-names {path}: needs the background and at least one class, one per line")
    return names
