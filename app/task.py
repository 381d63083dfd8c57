"""One run of the task: each input through read -> decode -> detect -> render, then the output files."""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from . import results as res
from .decode import DecodeError, decode
from .fetch import FetchError, FetchPolicy, fetch, parse_allow_hosts
from .inputs import InputError, InputSpec, UsageError, read_local
from .options import find_weights, read_class_names
from .output import (
    COCO_NAME,
    OUTPUT_LIMIT,
    RESERVE,
    RESULTS_NAME,
    TIMINGS_NAME,
    fit_overlays,
    output_size,
    overlay_name,
    write_computed,
    write_file,
)
from .render import encode_png, render_overlay


def one_line(text: str, limit: int = 400) -> str:
    """Text from strangers (URLs, HTTP reason phrases) made safe for a log line: no line breaks or
    terminal escapes, bounded length."""
    clean = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def label(source: str, width: int = 60) -> str:
    """A short name of an input for one-line messages (long URLs keep host and file name)."""
    source = one_line(source)
    if len(source) <= width:
        return source
    try:
        parts = urlsplit(source)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme and parts.netloc:
        tail = parts.path.rstrip("/").rsplit("/", 1)[-1][-30:]
        return f"{parts.scheme}://{parts.netloc[:30]}/…/{tail}"
    return "…" + source[-(width - 1) :]


class Task:
    """One run: the inputs in order, the lazily loaded model, the records for the results."""

    def __init__(self, args: argparse.Namespace, env: Mapping[str, str], out_dir: Path):
        self.args = args
        self.env = env
        self.out_dir = out_dir
        self.class_names = read_class_names(args.class_names)
        self.max_bytes = int(args.max_download_mb * 1024 * 1024)
        self.policy = FetchPolicy(
            max_bytes=self.max_bytes,
            connect_timeout=args.timeout,
            read_timeout=args.timeout,
            deadline=args.deadline,
            retries=args.retries,
            allow_hosts=parse_allow_hosts([*args.allow_host, env.get("MRCNN_ALLOW_HOSTS", "")]),
        )
        self.model = None
        self.model_error = ""
        self.keep_ids: set[int] | None = None
        self.timings: dict = {"inputs": []}

    def say(self, spec: InputSpec, text: str) -> None:
        print(f"input {spec.index} ({label(spec.source)}): {text}", flush=True)

    def fail(self, spec: InputSpec, stage: str, message: str) -> dict:
        message = one_line(message)
        print(f"input {spec.index} ({label(spec.source)}): {message}", file=sys.stderr, flush=True)
        return {
            "index": spec.index,
            "source": spec.source,
            "status": "error",
            "stage": stage,
            "error": message,
        }

    def load_model(self) -> None:
        """Load the weights once; a failure is kept and reported for every input that needed it."""
        if self.model is not None or self.model_error:
            return
        t0 = time.monotonic()
        try:
            path = find_weights(self.args.weights, self.env)
            from .mrcnn import MaskRCNN, WeightsError  # TensorFlow is imported only now

            try:
                model = MaskRCNN.from_weights(path, class_names=self.class_names, threads=self.args.threads)
            except (WeightsError, ValueError) as e:
                raise FileNotFoundError(str(e).splitlines()[0]) from e
        except FileNotFoundError as e:
            self.model_error = str(e)
            print(f"error: cannot load the model: {e}", file=sys.stderr, flush=True)
            if self.args.debug:
                traceback.print_exc()
            return
        if self.args.min_confidence is not None:
            model.config.DETECTION_MIN_CONFIDENCE = self.args.min_confidence
        if self.args.classes:
            try:
                self.keep_ids = res.select_classes(self.args.classes, model.class_names)
            except ValueError as e:
                raise UsageError(f"--classes: {e}") from None
        self.model = model
        self.timings["model_load_s"] = round(time.monotonic() - t0, 3)
        print(
            f"model: {model.config.NAME}, {len(model.class_names)} classes, weights {path}, "
            f"loaded in {time.monotonic() - t0:.2f} s",
            flush=True,
        )

    def process(self, spec: InputSpec) -> tuple[dict, tuple[bytes, tuple[int, int]] | None]:
        """The record of one input and its overlay PNG (None when it failed)."""
        times: dict = {"index": spec.index}
        self.timings["inputs"].append(times)
        if spec.kind == "invalid":
            return self.fail(spec, "read", spec.problem), None
        t0 = time.monotonic()
        try:
            if spec.kind == "url":
                data = fetch(spec.location, self.policy)
                what = "fetched"
            else:
                data = read_local(spec, self.max_bytes)
                what = "read"
        except (FetchError, InputError) as e:
            return self.fail(spec, "read", str(e)), None
        times["read_s"] = round(time.monotonic() - t0, 3)
        self.say(spec, f"{what} {len(data)} bytes in {times['read_s']:.2f} s")

        t0 = time.monotonic()
        try:
            decoded = decode(data, self.args.max_pixels)
        except DecodeError as e:
            return self.fail(spec, "decode", str(e)), None
        height, width = decoded.image.shape[:2]
        times["decode_s"] = round(time.monotonic() - t0, 3)
        frames = f", first of {decoded.frames} frames" if decoded.frames > 1 else ""
        self.say(spec, f"decoded {decoded.format} {width}x{height} (mode {decoded.mode}{frames})")

        self.load_model()
        if self.model is None:
            return self.fail(spec, "detect", f"model unavailable: {self.model_error}"), None
        from .mrcnn import ImageError  # loaded with the model, TensorFlow is already imported

        t0 = time.monotonic()
        try:
            raw = self.model.detect([decoded.image])[0]
        except ImageError as e:  # e.g. 1x5000 pixels: too thin to scale into the model's square
            return self.fail(spec, "detect", str(e)), None
        detections = res.keep_classes(raw, self.keep_ids)
        times["detect_s"] = round(time.monotonic() - t0, 3)
        records = res.detection_records(detections, self.model.class_names)
        self.say(
            spec,
            f"detected {len(records)} instance{'s' if len(records) != 1 else ''} "
            f"in {times['detect_s']:.2f} s",
        )

        t0 = time.monotonic()
        picture = render_overlay(
            decoded.image, detections, self.model.class_names, self.args.overlay_max_side
        )
        png = encode_png(picture)
        times["render_s"] = round(time.monotonic() - t0, 3)
        cfg = self.model.config
        entry = {
            "index": spec.index,
            "source": spec.source,
            "status": "ok",
            "sha256": hashlib.sha256(data).hexdigest(),
            "image": {
                "width": width,
                "height": height,
                "format": decoded.format,
                "mode": decoded.mode,
                "frames": decoded.frames,
            },
            "model": {
                "name": cfg.NAME,
                "num_classes": len(self.model.class_names),
                "min_confidence": round(float(cfg.DETECTION_MIN_CONFIDENCE), 6),
                "mask_threshold": round(float(cfg.MASK_THRESHOLD), 6),
                "classes": sorted(self.model.class_names[i] for i in self.keep_ids)
                if self.keep_ids is not None
                else None,
            },
            "detections": records,
        }
        return entry, (png, picture.size)

    def run(self, specs: list[InputSpec]) -> int:
        t_start = time.monotonic()
        entries: list[dict] = []
        overlays: dict[int, tuple[bytes, tuple[int, int]]] = {}
        for spec in specs:
            try:
                entry, overlay = self.process(spec)
            except UsageError:
                raise
            except Exception as e:  # one input's surprise must not cost the others their results
                if self.args.debug:
                    traceback.print_exc()
                first = str(e).splitlines()[0] if str(e) else ""
                entry, overlay = (
                    self.fail(spec, "internal", f"internal error: {type(e).__name__}: {first}"),
                    None,
                )
            entries.append(entry)
            if overlay is not None:
                overlays[spec.index] = overlay
                entry["overlay"] = overlay_name(spec.index, spec.source)

        document = self.document(entries)
        # Overlays get what the JSON files leave of the worker's 50 MiB.
        budget = OUTPUT_LIMIT - RESERVE - len(res.dump(document)) - len(res.dump(res.coco_results(entries)))
        order = sorted(overlays)
        plans = fit_overlays([overlays[i] for i in order], budget)
        by_index = {e["index"]: e for e in entries}
        for index, plan in zip(order, plans, strict=True):
            entry = by_index[index]
            entry["overlay_size"] = list(plan.size)
            if plan.note:
                entry["overlay_note"] = plan.note
            if plan.data is None:
                entry["overlay"] = None
            else:
                write_file(self.out_dir, entry["overlay"], plan.data)
                print(
                    f"input {index} ({label(entry['source'])}): wrote {entry['overlay']} "
                    f"({len(plan.data)} bytes){'; ' + plan.note if plan.note else ''}",
                    flush=True,
                )

        write_file(self.out_dir, COCO_NAME, res.dump(res.coco_results(entries)))
        results_path = write_file(self.out_dir, RESULTS_NAME, res.dump(self.document(entries)))
        self.timings["total_s"] = round(time.monotonic() - t_start, 3)
        write_file(self.out_dir, TIMINGS_NAME, res.dump(self.timings))
        ok = sum(e["status"] == "ok" for e in entries)
        error = None
        if ok == 0:
            firsts = "; ".join(f"input {e['index']}: {e['error']}" for e in entries[:3])
            more = f"; and {len(entries) - 3} more" if len(entries) > 3 else ""
            error = f"all {len(entries)} inputs failed: {firsts}{more}"
        write_computed(self.out_dir, results_path, error)
        found = sum(len(e.get("detections", [])) for e in entries)
        print(
            f"summary: {ok} of {len(entries)} inputs ok, {len(entries) - ok} failed, {found} detections; "
            f"{output_size(self.out_dir)} bytes in {self.out_dir}; {time.monotonic() - t_start:.1f} s",
            flush=True,
        )
        return 0 if ok else 1

    def document(self, entries: list[dict]) -> dict:
        ok = sum(e["status"] == "ok" for e in entries)
        return {
            "format": res.FORMAT,
            "settings": self.settings(),
            "inputs": entries,
            "summary": {
                "inputs": len(entries),
                "ok": ok,
                "failed": len(entries) - ok,
                "detections": sum(len(e.get("detections", [])) for e in entries),
            },
        }

    def settings(self) -> dict:
        """The options that change the results (never paths, hosts or thread counts)."""
        a = self.args
        return {
            "min_confidence": a.min_confidence,
            "classes": a.classes,
            "max_download_bytes": self.max_bytes,
            "max_pixels": a.max_pixels,
            "overlay_max_side": a.overlay_max_side,
        }


