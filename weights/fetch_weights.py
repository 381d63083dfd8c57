#!/usr/bin/env python3
"""Fetch matterport's COCO weights (mask_rcnn_coco.h5) and verify them, or install a local .h5.

    python weights/fetch_weights.py                       # -> weights/mask_rcnn_coco.h5
    python weights/fetch_weights.py --dest /opt/mrcnn/weights/mask_rcnn_coco.h5
    python weights/fetch_weights.py --local my_model.h5 --dest /opt/mrcnn/weights/mask_rcnn_coco.h5

Downloads go to DEST.part and resume from it (HTTP Range) after an interruption, within one
run (a few retries) or across runs. The finished file must have the published size and md5;
otherwise the partial file is discarded and the script fails without touching DEST.
Standard library only, so it runs before (and without) the project's dependencies.
Exit status: 0 ready, 1 download or verification failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import http.client
import os
import shutil
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

URL = "https://github.com/matterport/Mask_RCNN/releases/download/v2.0/mask_rcnn_coco.h5"
SIZE = 257_557_808
MD5 = "e98aaff6f99e307b5e2a8a3ff741a518"  # as published with NVIDIA's TensorRT Mask R-CNN sample
DEFAULT_DEST = Path(__file__).resolve().parent / "mask_rcnn_coco.h5"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
CHUNK = 1 << 20
UNREACHABLE_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED}

HINT = (
    "Without the download you can still run the model with a weights file you already have:\n"
    "  make run WEIGHTS=/path/to/mask_rcnn_coco.h5      (or: python -m app --weights PATH ...)\n"
    "or copy the file to weights/mask_rcnn_coco.h5 (this script then only verifies it).\n"
    "Building the image: put the file at weights/mask_rcnn_coco.h5 and add\n"
    "  --build-arg WEIGHTS_SOURCE=local   (make build WEIGHTS_SOURCE=local).\n"
    "See weights/README.md."
)


class FetchError(Exception):
    """A failure to report in one message, without a traceback."""


def log(msg: str) -> None:
    print(f"fetch_weights: {msg}", file=sys.stderr, flush=True)


def md5_of(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def verify(path: Path, size: int | None, md5: str | None) -> None:
    """Raise FetchError unless `path` has the expected size and md5 (None skips a check)."""
    actual = path.stat().st_size
    if size is not None and actual != size:
        raise FetchError(f"{path}: size is {actual:,} bytes, expected {size:,}")
    if md5 is not None:
        digest = md5_of(path)
        if digest != md5.lower():
            raise FetchError(f"{path}: md5 is {digest}, expected {md5.lower()}")


def _request(url: str, start: int, timeout: float):
    req = urllib.request.Request(url, headers={"User-Agent": "mask-rcnn-iexec-fetch/1"})
    if start:
        req.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (http(s) URL given by the user)


def _download_once(url: str, part: Path, size: int | None, timeout: float) -> None:
    """Append to `part` from where it stops; returns when the server has sent everything."""
    start = part.stat().st_size if part.exists() else 0
    if size is not None and start > size:
        log(f"discarding {part.name}: larger than the expected {size:,} bytes")
        part.unlink()
        start = 0
    if size is not None and start == size:
        return  # complete from an earlier run; verification decides if it is good
    try:
        resp = _request(url, start, timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:
            # Range past the end: the partial file already holds the whole body (or is bogus).
            return
        raise
    with resp:
        if start and resp.status != 206:
            log("the server ignored the resume request; starting again from byte 0")
            start = 0
        total = resp.headers.get("Content-Length")
        total = start + int(total) if total and total.isdigit() else size
        mode = "ab" if start else "wb"
        done, next_report = start, 0.0
        with part.open(mode) as out:
            while True:
                block = resp.read(CHUNK)
                if not block:
                    break
                out.write(block)
                done += len(block)
                if total and done / total >= next_report:
                    log(f"{done:,} / {total:,} bytes ({100 * done // total}%)")
                    next_report = done / total + 0.1
        if total and done < total:
            raise ConnectionError(f"connection closed after {done:,} of {total:,} bytes")


def fetch(
    url: str,
    dest: Path,
    size: int | None,
    md5: str | None,
    retries: int,
    timeout: float,
    backoff: float = 2.0,
) -> None:
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    attempt = 0
    while True:
        attempt += 1
        try:
            _download_once(url, part, size, timeout)
            break
        except urllib.error.HTTPError as e:
            # A 4xx will not get better by retrying; a 5xx might.
            if e.code < 500 or attempt > retries:
                raise FetchError(f"could not download {url}: HTTP {e.code} {e.reason}") from None
            reason = f"HTTP {e.code}"
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            reason = getattr(e, "reason", e)
            # No name resolution, no route, a refused or timed-out connection before any byte
            # arrived: the host is unreachable from here, so fail now rather than retry for minutes.
            fresh = not part.exists() or part.stat().st_size == 0
            unreachable = isinstance(reason, socket.gaierror | TimeoutError) or (
                isinstance(reason, OSError) and reason.errno in UNREACHABLE_ERRNOS
            )
            if fresh and unreachable:
                host = urllib.parse.urlsplit(url).hostname
                raise FetchError(
                    f"could not download {url}: {reason}\n"
                    f"{host} cannot be reached from this machine (offline, firewall or proxy?)"
                ) from None
            if attempt > retries:
                raise FetchError(f"could not download {url}: {reason} (after {retries} retries)") from None
        delay = min(backoff * 2 ** (attempt - 1), 30)
        log(f"download interrupted ({reason}); resuming in {delay:g} s (retry {attempt} of {retries})")
        time.sleep(delay)
    try:
        verify(part, size, md5)
    except FetchError as e:
        part.unlink(missing_ok=True)  # a corrupt body must not be resumed next time
        raise FetchError(f"downloaded file rejected, {e}") from None
    os.replace(part, dest)


def install_local(src: Path, dest: Path, size: int | None, md5: str | None) -> None:
    """Install a weights file that is already on disk (own training, random test weights...)."""
    if not src.is_file():
        raise FetchError(f"local weights file not found: {src}")
    with src.open("rb") as f:
        if f.read(len(HDF5_MAGIC)) != HDF5_MAGIC:
            raise FetchError(f"{src} is not an HDF5 file (a Keras .h5 weights file is expected)")
    verify(src, size, md5)
    if src.resolve() != dest.resolve():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    log(f"installed {src} -> {dest} ({dest.stat().st_size:,} bytes, md5 {md5_of(dest)})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--dest",
        type=Path,
        default=Path(os.environ.get("MRCNN_WEIGHTS_DEST") or DEFAULT_DEST),
        help="where the verified file goes (default: %(default)s)",
    )
    p.add_argument(
        "--url",
        default=os.environ.get("MRCNN_WEIGHTS_URL") or URL,
        help="download URL (env MRCNN_WEIGHTS_URL; default: matterport's v2.0 release)",
    )
    p.add_argument("--size", type=int, default=SIZE, help="expected size in bytes (default: %(default)s)")
    p.add_argument("--md5", default=MD5, help="expected md5 (default: %(default)s)")
    p.add_argument(
        "--local",
        type=Path,
        metavar="FILE",
        help="install this .h5 instead of downloading (checked to be HDF5, not against "
        "the COCO size/md5 unless --verify is given)",
    )
    p.add_argument("--verify", action="store_true", help="with --local: also check size and md5")
    p.add_argument("--retries", type=int, default=5, help="resume attempts after an interruption")
    p.add_argument("--timeout", type=float, default=60.0, help="socket timeout in seconds")
    p.add_argument("--backoff", type=float, default=2.0, help="first retry delay in seconds (then doubled)")
    args = p.parse_args(argv)
    if len(args.md5) != 32:
        p.error("--md5 needs 32 hex digits")

    try:
        if args.local is not None:
            checks = (args.size, args.md5) if args.verify else (None, None)
            install_local(args.local, args.dest, *checks)
            return 0
        if args.dest.exists():
            try:
                verify(args.dest, args.size, args.md5)
            except FetchError as e:
                raise FetchError(
                    f"{e}\n{args.dest} is not the published COCO file; delete it to download again, "
                    "or use it directly (make run WEIGHTS=...) if it is your own model"
                ) from None
            log(f"{args.dest} is present and verified (size and md5)")
            return 0
        log(f"downloading {args.url} -> {args.dest}")
        fetch(args.url, args.dest, args.size, args.md5, args.retries, args.timeout, args.backoff)
        log(f"{args.dest} downloaded and verified (size and md5)")
        return 0
    except FetchError as e:
        msg = f"error: {e}"
        if args.local is None and "could not download" in str(e):
            msg += "\n" + HINT
        print(f"fetch_weights: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        log("interrupted; run again to resume from the .part file")
        return 130


if __name__ == "__main__":
    sys.exit(main())
