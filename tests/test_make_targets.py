"""The README's first commands through make: `make help`, and `make run` with and without weights.

`make run` is started with `-o .venv/.installed` so that a test never triggers a venv rebuild.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def make(*args: str, timeout: float) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MRCNN_", "MAKE", "IEXEC_"))}
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_what_a_user_expects():
    r = make("help", timeout=30)
    assert r.returncode == 0, r.stderr
    listed = {line.split()[1] for line in r.stdout.splitlines() if line.strip().startswith("make ")}
    assert {"run", "test", "bench", "weights", "build", "push", "docker-run", "lint"} <= listed


def test_run_without_reachable_weights_fails_with_a_helpful_message(tmp_path):
    with socket.socket() as s:  # a loopback port with nobody listening: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = make(
        "run",
        f"WEIGHTS_URL=http://127.0.0.1:{port}/mask_rcnn_coco.h5",
        f"WEIGHTS_PATH={tmp_path / 'mask_rcnn_coco.h5'}",
        f"OUT={tmp_path / 'out'}",
        timeout=60,
    )
    text = r.stdout + r.stderr
    assert r.returncode != 0
    assert f"could not download http://127.0.0.1:{port}/mask_rcnn_coco.h5" in text
    assert "cannot be reached from this machine" in text
    assert "make run WEIGHTS=/path/to/mask_rcnn_coco.h5" in text
    assert "Traceback" not in text
    assert not (tmp_path / "out").exists()  # the model was never started


def test_run_with_a_weights_file_writes_the_results(coco_weights, tmp_path):
    out = tmp_path / "out"
    r = make("run", f"WEIGHTS={coco_weights}", f"OUT={out}", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    computed = json.loads((out / "computed.json").read_text())
    assert computed["deterministic-output-path"].endswith("/results.json")
    results = json.loads((out / "results.json").read_text())
    assert results["inputs"][0]["status"] == "ok"
    assert (out / results["inputs"][0]["overlay"]).is_file()
