"""Test group 3 of issue 5: the worker's side of the iExec contract, emulated around the real entrypoint.

A requester's `iexec_args` (as typed after `iexec app run --args`) is split the way the worker splits
it and appended to the Dockerfile's ENTRYPOINT; the output folder is then checked the way the worker
and `iapp test` check it (tests/worker_emulation.py). The operator's side is played by the
environment: weights baked into the image (MRCNN_WEIGHTS) and, because the image host is a loopback
server here, MRCNN_ALLOW_HOSTS=127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer
from tests.worker_emulation import MAX_NAME, ContractViolation, check_result_folder, entrypoint, run_task

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "app" / "sample" / "astronaut.jpg"
# A shell-quoted option value with a space and a comma: it must reach argparse as one argument.
CLASSES = "person,teddy bear"


@pytest.fixture(scope="module")
def server():
    with LoopbackServer() as srv:
        srv.files["astronaut.jpg"] = (SAMPLE.read_bytes(), "image/jpeg")
        yield srv


@pytest.fixture(scope="module")
def operator_env(coco_weights) -> dict[str, str]:
    return {"MRCNN_WEIGHTS": str(coco_weights), "MRCNN_ALLOW_HOSTS": "127.0.0.1"}


@pytest.fixture(scope="module")
def two_workers(server, operator_env, tmp_path_factory):
    """The same task run by two workers with different CPU counts, as with trust > 0."""
    url = server.url("/img/astronaut.jpg")
    iexec_args = f"{url} --classes '{CLASSES}' --min-confidence 0.5"
    runs = [
        run_task(iexec_args, tmp_path_factory.mktemp(f"worker{n}"), {**operator_env, "MRCNN_THREADS": str(n)})
        for n in (1, 2)
    ]
    return url, iexec_args, runs


def test_entrypoint_is_exec_form_python_module():
    assert entrypoint()[1:] == ["-m", "app"]


def test_iexec_args_arrive_as_the_requester_typed_them(two_workers):
    url, iexec_args, (run, _) = two_workers
    assert run.argv[len(entrypoint()) :] == [url, "--classes", CLASSES, "--min-confidence", "0.5"]
    assert run.exit_code == 0
    results = json.loads(run.deterministic.read_text())
    assert results["settings"]["classes"] == CLASSES
    assert results["settings"]["min_confidence"] == 0.5
    assert [(i["source"], i["status"]) for i in results["inputs"]] == [(url, "ok")]
    assert results["inputs"][0]["sha256"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()


def test_result_folder_passes_the_worker_checks(two_workers):
    _, _, (run, _) = two_workers
    assert run.deterministic == run.iexec_out.resolve() / "results.json"
    assert "error-message" not in run.computed
    names = run.names()
    assert {"computed.json", "results.json", "stdout.txt", "stderr.txt"} <= set(names)
    assert all(len(Path(n).name) <= MAX_NAME for n in names)
    with zipfile.ZipFile(run.zip_path) as zf:
        assert sum(i.file_size for i in zf.infolist()) <= 50 * 1024 * 1024
        assert json.loads(zf.read("computed.json")) == run.computed
        assert b"summary: 1 of 1 inputs ok" in zf.read("stdout.txt")


def test_two_workers_reach_the_same_digest(two_workers):
    _, _, (run1, run2) = two_workers
    assert run1.result_digest == "0x" + hashlib.sha256(run1.deterministic.read_bytes()).hexdigest()
    assert run1.result_digest == run2.result_digest
    # stdout.txt carries timings, so a digest of the whole folder would have split the consensus.
    assert (run1.iexec_out / "stdout.txt").read_bytes() != (run2.iexec_out / "stdout.txt").read_bytes()


def test_input_file_downloaded_by_the_worker(operator_env, tmp_path):
    # iexec_input_files: the worker stores each URL's body in IEXEC_IN as 0x + sha256(url).
    name = "0x" + hashlib.sha256(b"https://example.org/astronaut.jpg").hexdigest()
    run = run_task("--classes person", tmp_path, operator_env, input_files={name: SAMPLE.read_bytes()})
    assert run.exit_code == 0
    results = json.loads(run.deterministic.read_text())
    assert [(i["source"], i["status"]) for i in results["inputs"]] == [(name, "ok")]


def test_failed_task_still_leaves_a_result_the_worker_accepts(server, operator_env, tmp_path):
    # From worker 9.2.0 a task with computed.json is contributed even on a non-zero exit.
    run = run_task(f"'{server.url('/status/404')}'", tmp_path, operator_env)
    assert run.exit_code == 1
    assert "HTTP 404" in run.computed["error-message"]
    assert not (run.iexec_out / "stdout.txt").exists()  # only added on exit 0
    assert json.loads(run.deterministic.read_text())["summary"]["failed"] == 1


def test_checks_catch_what_the_worker_rejects(tmp_path):
    out = tmp_path / "iexec_out"
    out.mkdir()
    with pytest.raises(ContractViolation, match="no computed.json"):
        check_result_folder(out)
    outside = tmp_path / "results.json"
    outside.write_text("{}")
    (out / "computed.json").write_text(json.dumps({"deterministic-output-path": str(outside)}))
    with pytest.raises(ContractViolation, match="not under IEXEC_OUT"):
        check_result_folder(out)
    (out / "r.json").write_text("{}")
    (out / "computed.json").write_text(json.dumps({"deterministic-output-path": str(out / "r.json")}))
    (out / ("x" * 32 + ".png")).write_bytes(b"")
    with pytest.raises(ContractViolation, match="longer than 31"):
        check_result_folder(out)
