"""Check one output folder written by the image, as an iExec worker would receive it.

    python tests/container/check_outputs.py OUT_DIR --input FILE --uid 10001

Used by .ci/container-lane.sh after each `podman run`. Exits 1 with one line per failed check.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from PIL import Image

CONTAINER_OUT = "/iexec_out"
MAX_NAME = 31  # the worker fails a task whose result file names are longer
MAX_TOTAL = 50 * 1024 * 1024  # the iApp tester refuses more output than this
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check(out: Path, input_file: Path, uid: int) -> list[str]:
    problems: list[str] = []

    def expect(cond: bool, msg: str) -> bool:
        if not cond:
            problems.append(msg)
        return cond

    files = sorted(p for p in out.iterdir())
    expect(bool(files), f"{out} is empty")
    for p in files:
        expect(len(p.name) <= MAX_NAME, f"{p.name}: name longer than {MAX_NAME} characters")
        expect(p.stat().st_uid == uid, f"{p.name}: owned by uid {p.stat().st_uid}, expected {uid} (non-root)")
    total = sum(p.stat().st_size for p in files if p.is_file())
    expect(total <= MAX_TOTAL, f"output is {total} bytes, over {MAX_TOTAL}")

    computed_path = out / "computed.json"
    if not expect(computed_path.is_file(), "computed.json missing"):
        return problems
    computed = json.loads(computed_path.read_text())
    det = computed.get("deterministic-output-path", "")
    if not expect(
        isinstance(det, str) and det.startswith(CONTAINER_OUT + "/"),
        f"deterministic-output-path {det!r} is not a file under {CONTAINER_OUT}",
    ):
        return problems
    error = computed.get("error-message")
    expect(error is None, f"computed.json reports an error: {error}")
    canonical = out / det[len(CONTAINER_OUT) + 1 :]
    if not expect(canonical.is_file(), f"canonical results {det} missing"):
        return problems

    raw = canonical.read_bytes()
    results = json.loads(raw)
    # Consensus needs byte-stable output: sorted keys, compact, nothing host-dependent.
    expect(
        raw.rstrip(b"\n") == json.dumps(results, sort_keys=True, separators=(",", ":")).encode(),
        f"{canonical.name} is not in canonical form (sorted keys, compact separators)",
    )
    inputs = results.get("inputs", [])
    if not expect(len(inputs) == 1, f"{canonical.name}: expected 1 input, got {len(inputs)}"):
        return problems
    entry = inputs[0]
    status = entry.get("status")
    expect(status == "ok", f"input not processed: {status} {entry.get('error', '')}")
    want_sha = hashlib.sha256(input_file.read_bytes()).hexdigest()
    same_input = expect(entry.get("sha256") == want_sha, f"the image processed is not {input_file}")
    for d in entry.get("detections", []):
        expect(
            {"box", "class_id", "class_name", "score", "mask"} <= d.keys(),
            f"detection lacks fields: {sorted(d)}",
        )
        break

    overlay = out / str(entry.get("overlay", ""))
    if expect(entry.get("overlay") and overlay.is_file(), f"overlay {entry.get('overlay')!r} missing"):
        expect(overlay.read_bytes()[:8] == PNG_SIGNATURE, f"{overlay.name} is not a PNG")
        with Image.open(overlay) as im:
            im.load()  # decodes the whole file: a truncated PNG fails here
            expect(
                list(im.size) == list(entry.get("overlay_size", [])),
                f"{overlay.name} is {im.size}, results say {entry.get('overlay_size')}",
            )
            if same_input:
                with Image.open(input_file) as src:
                    expect(im.size == src.size, f"overlay {im.size} differs from the input's {src.size}")

    coco = out / "coco_results.json"
    if expect(coco.is_file(), "coco_results.json missing"):
        anns = json.loads(coco.read_text())
        expect(isinstance(anns, list), "coco_results.json is not a list")
        expect(
            len(anns) == len(entry.get("detections", [])),
            f"coco_results.json has {len(anns)} annotations, results {len(entry.get('detections', []))}",
        )
    return problems


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--input", type=Path, required=True, help="the image the run was given")
    p.add_argument("--uid", type=int, default=10001, help="expected owner of the output files")
    args = p.parse_args()
    problems = check(args.out, args.input, args.uid)
    for msg in problems:
        print(f"FAIL {args.out}: {msg}", file=sys.stderr)
    if not problems:
        print(f"ok   {args.out}: computed.json, canonical results, overlay, COCO results, uid {args.uid}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
