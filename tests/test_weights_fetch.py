"""weights/fetch_weights.py against a loopback HTTP server: resume, checksums, clear errors.

The script is run as a subprocess, as `make weights` and the Dockerfile run it, with the
expected size and md5 overridden to match a small file served from 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "weights" / "fetch_weights.py"
BLOB = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4 bytes: not a multiple of the chunk size
BLOB_MD5 = hashlib.md5(BLOB).hexdigest()


class Server:
    """Serves BLOB with Range support; can cut a response short or ignore Range headers."""

    def __init__(self) -> None:
        self.requests: list[str | None] = []  # the Range header of each request
        self.cut_after: list[int] = []  # per request (consumed in order): bytes sent before closing
        self.ignore_range = False
        self.body = BLOB
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                outer.requests.append(rng)
                if self.path != "/mask_rcnn_coco.h5":
                    self.send_error(404)
                    return
                start = 0
                if rng and not outer.ignore_range:
                    start = int(rng.removeprefix("bytes=").rstrip("-"))
                    if start >= len(outer.body):
                        self.send_response(416)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    end = len(outer.body) - 1
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(outer.body)}")
                else:
                    self.send_response(200)
                body = outer.body[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if outer.cut_after:
                    body = body[: outer.cut_after.pop(0)]
                    self.close_connection = True
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mask_rcnn_coco.h5"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def run_fetch(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRCNN_")}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def fetch_args(server: Server, dest: Path, size: int = len(BLOB), md5: str = BLOB_MD5) -> list[str]:
    return [
        "--url",
        server.url,
        "--dest",
        str(dest),
        "--size",
        str(size),
        "--md5",
        md5,
        "--backoff",
        "0.05",
        "--retries",
        "3",
    ]


def test_download_verifies_and_leaves_no_partial_file(server, tmp_path):
    dest = tmp_path / "w.h5"
    r = run_fetch(*fetch_args(server, dest))
    assert r.returncode == 0, r.stderr
    assert dest.read_bytes() == BLOB
    assert not (tmp_path / "w.h5.part").exists()
    assert server.requests == [None]


def test_resumes_from_a_partial_file_left_by_an_earlier_run(server, tmp_path):
    dest = tmp_path / "w.h5"
    (tmp_path / "w.h5.part").write_bytes(BLOB[:300_000])
    r = run_fetch(*fetch_args(server, dest))
    assert r.returncode == 0, r.stderr
    assert server.requests == ["bytes=300000-"]
    assert dest.read_bytes() == BLOB


def test_resumes_within_one_run_after_the_connection_drops(server, tmp_path):
    dest = tmp_path / "w.h5"
    server.cut_after = [100_000]
    r = run_fetch(*fetch_args(server, dest))
    assert r.returncode == 0, r.stderr
    assert server.requests == [None, "bytes=100000-"]
    assert dest.read_bytes() == BLOB
    assert "resuming" in r.stderr


def test_restarts_when_the_server_ignores_range(server, tmp_path):
    dest = tmp_path / "w.h5"
    (tmp_path / "w.h5.part").write_bytes(b"x" * 5000)  # garbage that must not be kept
    server.ignore_range = True
    r = run_fetch(*fetch_args(server, dest))
    assert r.returncode == 0, r.stderr
    assert dest.read_bytes() == BLOB


def test_complete_partial_file_is_verified_without_refetching_the_body(server, tmp_path):
    dest = tmp_path / "w.h5"
    (tmp_path / "w.h5.part").write_bytes(BLOB)
    r = run_fetch(*fetch_args(server, dest))
    assert r.returncode == 0, r.stderr
    assert server.requests == []
    assert dest.read_bytes() == BLOB


def test_md5_mismatch_fails_and_discards_the_download(server, tmp_path):
    dest = tmp_path / "w.h5"
    r = run_fetch(*fetch_args(server, dest, md5="0" * 32))
    assert r.returncode == 1
    assert f"md5 is {BLOB_MD5}, expected {'0' * 32}" in r.stderr
    assert not dest.exists()
    assert not (tmp_path / "w.h5.part").exists()  # corrupt data must not be resumed later


def test_size_mismatch_fails(server, tmp_path):
    dest = tmp_path / "w.h5"
    r = run_fetch(*fetch_args(server, dest, size=len(BLOB) + 10))
    assert r.returncode == 1
    assert f"expected {len(BLOB) + 10:,}" in r.stderr
    assert not dest.exists()


def test_gives_up_after_the_retries_when_the_server_keeps_cutting(server, tmp_path):
    dest = tmp_path / "w.h5"
    server.cut_after = [0, 0, 0, 0, 0]
    (tmp_path / "w.h5.part").write_bytes(BLOB[:10])  # not fresh: cuts are retried, not fatal at once
    r = run_fetch(*fetch_args(server, dest)[:-1], "1")  # --retries 1
    assert r.returncode == 1
    assert "after 1 retries" in r.stderr
    assert len(server.requests) == 2


def test_existing_valid_file_is_only_verified(server, tmp_path):
    dest = tmp_path / "w.h5"
    dest.write_bytes(BLOB)
    r = run_fetch(*fetch_args(server, dest))
    assert r.returncode == 0, r.stderr
    assert "present and verified" in r.stderr
    assert server.requests == []


def test_existing_foreign_file_is_not_overwritten(server, tmp_path):
    dest = tmp_path / "w.h5"
    dest.write_bytes(b"my own model")
    r = run_fetch(*fetch_args(server, dest))
    assert r.returncode == 1
    assert "not the published COCO file" in r.stderr
    assert dest.read_bytes() == b"my own model"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_host_fails_fast_with_a_helpful_message(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/mask_rcnn_coco.h5"
    r = run_fetch("--url", url, "--dest", str(tmp_path / "w.h5"), timeout=30)
    assert r.returncode == 1
    assert f"could not download {url}" in r.stderr
    assert "cannot be reached from this machine" in r.stderr
    assert "make run WEIGHTS=" in r.stderr
    assert "WEIGHTS_SOURCE=local" in r.stderr
    assert "Traceback" not in r.stderr
    assert "retry" not in r.stderr  # refused at once: no back-off loop


def test_http_404_is_reported_without_retrying(server, tmp_path):
    url = server.url.replace("/mask", "/missing/mask")
    r = run_fetch("--url", url, "--dest", str(tmp_path / "w.h5"))
    assert r.returncode == 1
    assert f"could not download {url}: HTTP 404" in r.stderr
    assert len(server.requests) == 1


def test_local_install_checks_hdf5_magic(tmp_path):
    not_h5 = tmp_path / "model.h5"
    not_h5.write_bytes(b"PK\x03\x04 a zip, not hdf5")
    r = run_fetch("--local", str(not_h5), "--dest", str(tmp_path / "out" / "w.h5"))
    assert r.returncode == 1
    assert "is not an HDF5 file" in r.stderr

    h5py = pytest.importorskip("h5py")
    good = tmp_path / "good.h5"
    with h5py.File(good, "w") as f:
        f.attrs["layer_names"] = [b"conv1"]
    r = run_fetch("--local", str(good), "--dest", str(tmp_path / "out" / "w.h5"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "w.h5").read_bytes() == good.read_bytes()

    r = run_fetch("--local", str(good), "--dest", str(tmp_path / "out2.h5"), "--verify")
    assert r.returncode == 1  # --verify compares against the COCO file's size and md5
    assert "expected 257,557,808" in r.stderr
