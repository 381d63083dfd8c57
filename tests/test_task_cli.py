"""`python -m app` as the worker runs it: a subprocess with IEXEC_IN/IEXEC_OUT, random weights in the
real layout, and a loopback server playing every kind of bad host.

A subprocess costs a TensorFlow import and a model build, so one mixed run of 24 inputs (7 good, 17
bad) is made twice, with 1 and 2 threads, and every case is checked on both; the cheap runs (all
inputs bad, usage errors) never load the model.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image
from pycocotools.coco import COCO

from app.task import label
from tests import sample_images as si
from tests.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parents[1]
CAP = 1024 * 1024  # --max-download-mb 1
INPUT_FILE = "0x" + hashlib.sha256(b"https://example.org/grey16.png").hexdigest()  # as the worker names it


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    out: Path

    def results(self) -> dict:
        return json.loads((self.out / "results.json").read_text())

    def computed(self) -> dict:
        return json.loads((self.out / "computed.json").read_text())

    def sha256(self, name: str = "results.json") -> str:
        return hashlib.sha256((self.out / name).read_bytes()).hexdigest()


def run_app(args: list[str], out: Path, extra_env: dict[str, str] | None = None, timeout: float = 400) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IEXEC_", "MRCNN_"))}
    env.update({"IEXEC_OUT": str(out), **(extra_env or {})})
    proc = subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, out)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    with LoopbackServer() as srv:
        files = {
            "photo.jpg": (si.jpeg(), "image/jpeg"),
            "photo.png": (si.png(), "image/png"),
            "page.html": (si.HTML, "image/jpeg"),
            "empty.jpg": (b"", "image/jpeg"),
            "truncated.jpg": (si.truncated_jpeg(), "image/jpeg"),
            "bomb.png": (si.png_bomb(60000, 60000), "image/png"),
            "exif.jpg": (si.exif_rotated_jpeg(), "image/jpeg"),
            "anim.gif": (si.animated_gif(), "image/gif"),
            "thin.png": (si.encode(Image.new("RGB", (3000, 1), "white"), "PNG"), "image/png"),
        }
        srv.files.update(files)
        yield srv


# (argument or None for inputs from the environment, expected status, expected error or None)
def mixed_cases(srv: LoopbackServer, local: Path) -> list[tuple[str | None, str, str | None]]:
    meta = quote("http://169.254.169.254/latest/meta-data/", safe="")
    html_error = "not a supported image (looks like HTML; accepted: JPEG, PNG, GIF, WebP, BMP, TIFF)"
    return [
        (srv.url("/img/photo.jpg"), "ok", None),
        (srv.url("/flaky/photo.png"), "ok", None),  # HTTP 500 first, retried
        (str(local), "ok", None),  # palette PNG with transparency, by local path
        (srv.url("/status/404"), "error", "HTTP 404 Not Found"),
        (f"http://127.0.0.1:{closed_port()}/x.jpg", "error", "connection refused"),
        (srv.url("/stall"), "error", "timed out reading the response body (after 2 attempts)"),
        (srv.url("/big-len"), "error", f"download too large: Content-Length {500 * CAP} bytes > limit {CAP}"),
        (srv.url("/big-nolen"), "error", f"download too large: more than {CAP} bytes"),
        (srv.url("/redirect-loop"), "error", "too many redirects (more than 5)"),
        (srv.url(f"/to/{meta}"), "error", "download refused: 169.254.169.254 is a link-local address"),
        ("file:///etc/hosts", "error", "unsupported URL scheme 'file' (only http and https)"),
        ("ftp://127.0.0.1/x.jpg", "error", "unsupported URL scheme 'ftp' (only http and https)"),
        (srv.url("/img/page.html"), "error", html_error),
        (srv.url("/img/empty.jpg"), "error", "empty file (0 bytes)"),
        (srv.url("/img/truncated.jpg"), "error", "truncated JPEG data (image file is truncated"),
        (
            srv.url("/img/bomb.png"),
            "error",
            "image too large: 3600000000 pixels > limit 16777216 (--max-pixels)",
        ),
        (srv.url("/img/exif.jpg"), "ok", None),
        (srv.url("/img/anim.gif"), "ok", None),
        ("no/such/file.jpg", "error", "not an http(s) URL nor an existing file"),
        (srv.url("/img/thin.png"), "error", "image of 1x3000 pixels is too thin to fit a 1024-pixel square"),
        (None, "ok", None),  # IEXEC_INPUT_FILE_NAME_1: 16-bit PNG named 0x + sha256(url)
        (None, "error", "file not found"),  # IEXEC_INPUT_FILE_NAME_2: not downloaded
        (None, "ok", None),  # dataset zip member a_cmyk.jpg
        (None, "error", "not a supported image (unknown data starting with"),  # dataset member b_notes.txt
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Local file, IEXEC_IN with two declared input files (one missing) and a dataset zip."""
    tmp = tmp_path_factory.mktemp("world")
    local = tmp / "palette.png"
    local.write_bytes(si.palette_png_transparent())
    iexec_in = tmp / "iexec_in"
    iexec_in.mkdir()
    (iexec_in / INPUT_FILE).write_bytes(si.png16())
    with zipfile.ZipFile(iexec_in / "0xdataset", "w") as zf:
        zf.writestr("a_cmyk.jpg", si.cmyk_jpeg())
        zf.writestr("b_notes.txt", b"just some notes\n")
    env = {
        "IEXEC_IN": str(iexec_in),
        "IEXEC_INPUT_FILES_NUMBER": "2",
        "IEXEC_INPUT_FILE_NAME_1": INPUT_FILE,
        "IEXEC_INPUT_FILE_NAME_2": "missing.png",
        "IEXEC_DATASET_FILENAME": "0xdataset",
    }
    return local, env, tmp


@pytest.fixture(scope="module")
def mixed(server, world, coco_weights):
    """The mixed run with 1 and then 2 threads: (cases, run1, run2)."""
    local, env, tmp = world
    cases = mixed_cases(server, local)
    args = [c[0] for c in cases if c[0] is not None]
    # --min-confidence 0.8 also exercises the option.
    common = [
        "--min-confidence",
        "0.8",
        "--weights",
        str(coco_weights),
        "--allow-host",
        "127.0.0.1",
        "--timeout",
        "1",
        "--retries",
        "1",
        "--max-download-mb",
        "1",
        *args,
    ]
    runs = [run_app(["--threads", str(n), *common], tmp / f"out{n}", env) for n in (1, 2)]
    return cases, runs[0], runs[1]


def test_mixed_run_exit_code_and_no_traceback(mixed):
    _, *runs = mixed
    for run in runs:
        assert run.code == 0, run.stderr
        assert "Traceback" not in run.stderr


def test_mixed_run_one_line_per_failed_input(mixed):
    cases, *runs = mixed
    for run in runs:
        entries = run.results()["inputs"]
        assert [e["index"] for e in entries] == list(range(1, len(cases) + 1))
        errors = [line for line in run.stderr.splitlines() if line.startswith("input ")]
        expected_failures = [(i, c) for i, c in enumerate(cases, start=1) if c[1] == "error"]
        assert len(errors) == len(expected_failures)
        for (index, (_, _, message)), line in zip(expected_failures, errors, strict=True):
            entry = entries[index - 1]
            assert entry["status"] == "error"
            assert entry["error"].startswith(message), (index, entry["error"])
            assert line == f"input {index} ({label(entry['source'])}): {entry['error']}"


def test_mixed_run_good_inputs_survive(mixed):
    cases, *runs = mixed
    for run in runs:
        entries = run.results()["inputs"]
        for index, (_, status, _) in enumerate(cases, start=1):
            entry = entries[index - 1]
            assert entry["status"] == status, (index, entry.get("error"))
            if status != "ok":
                continue
            for stage in ("bytes in", "decoded", "detected", "wrote"):
                assert any(
                    line.startswith(f"input {index} (") and stage in line for line in run.stdout.splitlines()
                )
            overlay = run.out / entry["overlay"]
            with Image.open(overlay) as im:
                assert im.format == "PNG" and list(im.size) == entry["overlay_size"]
                assert im.size == (entry["image"]["width"], entry["image"]["height"])
            assert entry["model"]["min_confidence"] == 0.8
            for det in entry["detections"]:
                assert det["mask"]["size"] == [entry["image"]["height"], entry["image"]["width"]]
                assert det["score"] >= 0.8
        assert sum(len(e.get("detections", [])) for e in entries) > 0  # random weights do find things


def test_mixed_run_sources_and_decoded_modes(mixed, world):
    _, run, _ = mixed
    entries = run.results()["inputs"]
    by_source = {e["source"]: e for e in entries}
    assert by_source[str(world[0])]["image"]["mode"] == "P"
    assert by_source[INPUT_FILE]["image"]["mode"] == "I;16"
    assert by_source["0xdataset/a_cmyk.jpg"]["image"]["mode"] == "CMYK"
    gif = next(e for e in entries if e["source"].endswith("/anim.gif"))
    assert gif["image"]["frames"] == 3
    exif = next(e for e in entries if e["source"].endswith("/exif.jpg"))
    assert (exif["image"]["width"], exif["image"]["height"]) == (128, 192)  # stored 192x128, shown upright
    with Image.open(run.out / exif["overlay"]) as im:
        assert im.size == (128, 192)


def test_retry_after_500_happened_in_each_run(mixed, server):
    assert server.hits["/flaky/photo.png"] == 4  # 500 then 200, twice


def test_computed_json_names_and_size(mixed):
    _, *runs = mixed
    for run in runs:
        computed = run.computed()
        assert computed == {"deterministic-output-path": str((run.out / "results.json").resolve())}
        names = [p.name for p in run.out.iterdir()]
        assert {"results.json", "coco_results.json", "timings.json", "computed.json"} <= set(names)
        assert all(len(n) <= 31 for n in names), names
        assert sum(p.stat().st_size for p in run.out.iterdir()) <= 50 * 1024 * 1024
        assert run.stdout.splitlines()[-1].startswith("summary: 7 of 24 inputs ok, 17 failed, ")


def test_canonical_file_is_identical_with_1_and_2_threads(mixed):
    _, run1, run2 = mixed
    assert run1.sha256() == run2.sha256()
    assert run1.sha256("coco_results.json") == run2.sha256("coco_results.json")
    text = (run1.out / "results.json").read_text()
    assert str(run1.out) not in text and str(run2.out) not in text  # no host paths

    def keys(node: object) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {k for v in node.values() for k in keys(v)}
        return {k for v in node for k in keys(v)} if isinstance(node, list) else set()

    assert not {k for k in keys(json.loads(text)) if "time" in k or k.endswith("_s")}  # no timings


def test_coco_results_load_against_ground_truth_image_ids(mixed):
    _, run, _ = mixed
    ok = [e for e in run.results()["inputs"] if e["status"] == "ok"]
    gt = COCO()
    gt.dataset = {
        "images": [
            {"id": e["index"], "width": e["image"]["width"], "height": e["image"]["height"]} for e in ok
        ],
        "categories": [{"id": i} for i in range(1, 91)],
        "annotations": [],
    }
    gt.createIndex()
    dt = gt.loadRes(str(run.out / "coco_results.json"))
    assert len(dt.getAnnIds()) == sum(len(e["detections"]) for e in ok)


def test_all_inputs_failed_exit_1_without_loading_the_model(server, tmp_path):
    run = run_app(
        ["--allow-host", "127.0.0.1", server.url("/status/404"), server.url("/img/page.html")],
        tmp_path / "out",
        {"MRCNN_WEIGHTS": str(tmp_path / "never-read.h5")},
    )
    assert run.code == 1, run.stderr
    assert "model:" not in run.stdout and "Traceback" not in run.stderr
    error = run.computed()["error-message"]
    assert error.startswith(
        "all 2 inputs failed: input 1: HTTP 404 Not Found; input 2: not a supported image"
    )
    assert run.computed()["deterministic-output-path"] == str(tmp_path / "out" / "results.json")
    assert [e["status"] for e in run.results()["inputs"]] == ["error", "error"]


def test_allow_list_from_the_environment(server, tmp_path):
    run = run_app(
        [server.url("/status/404")], tmp_path / "out", {"MRCNN_ALLOW_HOSTS": "example.org,127.0.0.1"}
    )
    assert run.results()["inputs"][0]["error"] == "HTTP 404 Not Found"  # reached the server
    refused = run_app([server.url("/status/404")], tmp_path / "out2")
    assert refused.results()["inputs"][0]["error"] == "download refused: 127.0.0.1 is a loopback address"


def test_too_many_inputs_is_a_usage_error(tmp_path):
    run = run_app([f"https://example.org/{i}.jpg" for i in range(33)], tmp_path / "out")
    assert run.code == 2
    assert run.stderr.splitlines()[0] == (
        "error: too many inputs: 33 (at most 32 per run; split them over several tasks)"
    )
    assert run.computed()["error-message"].startswith("usage error: too many inputs: 33")
    assert run.results()["error"].startswith("too many inputs")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--min-confidence", "2"], "error: --min-confidence must be between 0 and 1"),
        (["--bogus"], "error: unrecognized arguments: --bogus"),
        (["--threads", "two"], "error: argument --threads: invalid int value: 'two'"),
    ],
)
def test_bad_options_exit_2_and_leave_computed_json(tmp_path, args, message):
    run = run_app(args, tmp_path / "out")
    assert run.code == 2 and run.stderr.splitlines()[0] == message
    assert run.computed()["error-message"] == "usage error: " + message.removeprefix("error: ")


def test_unwritable_output_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    run = run_app(["--out", str(tmp_path / "file" / "out")], tmp_path / "unused")
    assert run.code == 2
    assert run.stderr.startswith(
        f"error: output folder {tmp_path / 'file' / 'out'} (--out) is not writable: "
    )
    assert "Traceback" not in run.stderr


def test_missing_weights_one_line_and_traceback_only_with_debug(tmp_path):
    missing = tmp_path / "nope.h5"
    run = run_app(
        ["--weights", str(missing), str(ROOT / "app" / "sample" / "astronaut.jpg")], tmp_path / "o1"
    )
    assert run.code == 1
    assert f"error: cannot load the model: weight file {missing} (--weights) not found" in run.stderr
    assert "input 1 (" in run.stderr and "model unavailable" in run.stderr
    assert "Traceback" not in run.stderr
    debug = run_app(["--debug", "--weights", str(missing), "app/sample/astronaut.jpg"], tmp_path / "o2")
    assert "Traceback" in debug.stderr


def test_no_input_uses_the_sample_and_class_filter(coco_weights, tmp_path):
    run = run_app(
        ["--weights", str(coco_weights), "--classes", "couch,person", "--min-confidence", "0.75"],
        tmp_path / "out",
    )
    assert run.code == 0, run.stderr
    (entry,) = run.results()["inputs"]
    assert entry["source"] == "sample/astronaut.jpg" and entry["status"] == "ok"
    assert entry["model"]["min_confidence"] == 0.75 and entry["model"]["classes"] == ["couch", "person"]
    assert entry["detections"], "random weights find couches in the astronaut photo"
    assert {d["class_name"] for d in entry["detections"]} <= {"couch", "person"}
    assert min(d["score"] for d in entry["detections"]) >= 0.75
    png = (run.out / entry["overlay"]).read_bytes()
    assert Image.open(io.BytesIO(png)).size == (512, 512)


def test_labels_are_one_short_line():
    from app.task import one_line

    assert one_line("a\nb\x1b[31m") == "a\\x0ab\\x1b[31m"
    assert len(one_line("x" * 1000)) == 400
    assert label("https://example.org/" + "d/" * 50 + "photo.jpg") == "https://example.org/…/photo.jpg"
    assert label("http://[::1" + "x" * 80).startswith("…")
