"""`python -m app [OPTIONS] INPUT...`: the iExec task, from image URLs to the output folder.

Stages per input: read (download or local file) → decode → detect → render; then the output
folder gets the overlays, results.json (canonical, the task's proof), coco_results.json,
timings.json and computed.json (last). The model is loaded once, lazily, when the first input has
decoded, so a run whose inputs are all bad finishes in a second without touching TensorFlow.

Exit codes: 0 when at least one input succeeded, 1 when all failed, 2 for usage errors.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from . import results as res
from .inputs import UsageError, collect
from .options import build_parser, check_options
from .output import (
    RESULTS_NAME,
    OutputError,
    resolve_out_dir,
    write_computed,
    write_file,
)
from .task import Task


def _pre_out(argv: Sequence[str]) -> str | None:
    """--out from an argument list that failed to parse, so a usage error can still be recorded."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--out")
    try:
        return pre.parse_known_args(list(argv))[0].out
    except SystemExit:
        return None


def _usage_failure(message: str, cli_out: str | None, env: Mapping[str, str]) -> int:
    """Exit 2; if an output folder is usable, leave computed.json and results.json saying why."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    print("usage: python -m app [OPTIONS] INPUT...   (python -m app --help for the options)", file=sys.stderr)
    try:
        out_dir = resolve_out_dir(cli_out, env)
        doc = {
            "format": res.FORMAT,
            "error": message,
            "inputs": [],
            "summary": {"inputs": 0, "ok": 0, "failed": 0, "detections": 0},
        }
        results_path = write_file(out_dir, RESULTS_NAME, res.dump(doc))
        write_computed(out_dir, results_path, f"usage error: {message}")
    except (OutputError, OSError):
        pass  # no usable output folder: the stderr line above is all the user gets
    return 2


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        return _usage_failure(str(e), _pre_out(argv), env)
    try:
        check_options(args)
        try:
            out_dir = resolve_out_dir(args.out, env)
        except OutputError as e:
            print(f"error: {e}", file=sys.stderr, flush=True)
            return 2
        specs = collect(args.inputs, env)
        return Task(args, env, out_dir).run(specs)
    except UsageError as e:
        return _usage_failure(str(e), args.out, env)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if args.debug:
            raise
        first = str(e).splitlines()[0] if str(e) else ""
        print(
            f"error: internal error: {type(e).__name__}: {first} (run with --debug for details)",
            file=sys.stderr,
        )
        return 1
