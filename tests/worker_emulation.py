"""The iExec worker's side of a task, emulated around the real entrypoint (no container, no chain).

What the worker (iexec-worker 9.2, iexec-common) and `iapp test` do, in the order they do it:
1. split the requester's `iexec_args` shell-style; the result replaces the image's CMD and follows
   its ENTRYPOINT, read here from docker_keras_cpu/Dockerfile so a change there is noticed;
2. run it with IEXEC_IN / IEXEC_OUT / IEXEC_TASK_ID / input-file variables set;
3. on exit 0 add stdout.txt and stderr.txt to IEXEC_OUT;
4. read computed.json, check that `deterministic-output-path` lies under IEXEC_OUT, that no result
   name exceeds 31 characters and the folder stays within 50 MiB;
5. digest the deterministic file (sha256 of its bytes, `0x` + hex) and zip IEXEC_OUT.
The zip is what `iexec task show --download` hands the requester.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "docker_keras_cpu" / "Dockerfile"
MAX_NAME = 31
MAX_RESULT_BYTES = 50 * 1024 * 1024


class ContractViolation(AssertionError):
    """The output folder would make the worker (or `iapp test`) fail the task."""


def entrypoint() -> list[str]:
    """The image's exec-form ENTRYPOINT, with its `python` mapped to the interpreter running the tests."""
    lines = [ln.strip() for ln in DOCKERFILE.read_text().splitlines() if ln.strip().startswith("ENTRYPOINT")]
    if len(lines) != 1:
        raise ContractViolation(f"{DOCKERFILE} must have exactly one ENTRYPOINT, found {len(lines)}")
    form = lines[0][len("ENTRYPOINT") :].strip()
    try:
        argv = json.loads(form)
    except json.JSONDecodeError:
        # Shell form would run through /bin/sh -c and swallow the requester's arguments.
        raise ContractViolation(f"ENTRYPOINT must be exec form (a JSON list), got {form!r}") from None
    if not argv or argv[0] not in ("python", "python3"):
        raise ContractViolation(f"unexpected ENTRYPOINT {argv}")
    return [sys.executable, *argv[1:]]


@dataclass
class WorkerRun:
    argv: list[str]
    exit_code: int
    iexec_out: Path
    computed: dict
    deterministic: Path
    result_digest: str  # 0x + sha256 of the deterministic file
    zip_path: Path

    def names(self) -> list[str]:
        with zipfile.ZipFile(self.zip_path) as zf:
            return sorted(zf.namelist())


def check_result_folder(iexec_out: Path) -> tuple[dict, Path]:
    """computed.json and the deterministic file, or ContractViolation saying what the worker would reject."""
    computed_path = iexec_out / "computed.json"
    if not computed_path.is_file():
        raise ContractViolation("no computed.json in IEXEC_OUT")
    computed = json.loads(computed_path.read_text())
    if not isinstance(computed, dict) or not isinstance(computed.get("deterministic-output-path"), str):
        raise ContractViolation(f"computed.json lacks deterministic-output-path: {computed!r}")
    det = Path(computed["deterministic-output-path"])
    if not det.is_absolute():
        raise ContractViolation(f"deterministic-output-path {det} is not absolute")
    root = iexec_out.resolve()
    if root not in det.resolve().parents:
        raise ContractViolation(f"deterministic-output-path {det} is not under IEXEC_OUT {root}")
    if not det.is_file():
        # A folder digest would take in stdout.txt/stderr.txt, which differ between workers.
        raise ContractViolation(f"deterministic-output-path {det} is not a file")
    total = 0
    for path in iexec_out.rglob("*"):
        if len(path.name) > MAX_NAME:
            raise ContractViolation(f"result name {path.name!r} is longer than {MAX_NAME} characters")
        if path.is_file():
            total += path.stat().st_size
    if total > MAX_RESULT_BYTES:
        raise ContractViolation(f"result folder holds {total} bytes > {MAX_RESULT_BYTES}")
    return computed, det


def run_task(
    iexec_args: str,
    work: Path,
    env: dict[str, str] | None = None,
    input_files: dict[str, bytes] | None = None,
    task_id: str = "0x" + "ab" * 32,
    timeout: float = 600,
) -> WorkerRun:
    """Run one task the way the worker does; `env` is what the operator's worker adds (weights, hosts)."""
    iexec_in, iexec_out = work / "iexec_in", work / "iexec_out"
    iexec_in.mkdir(parents=True)
    iexec_out.mkdir(parents=True)
    names = list(input_files or {})
    for name, data in (input_files or {}).items():
        (iexec_in / name).write_bytes(data)
    task_env = {k: v for k, v in os.environ.items() if not k.startswith(("IEXEC_", "MRCNN_"))}
    task_env.update(
        {
            "IEXEC_IN": str(iexec_in),
            "IEXEC_OUT": str(iexec_out),
            "IEXEC_TASK_ID": task_id,
            "IEXEC_INPUT_FILES_FOLDER": str(iexec_in),
            "IEXEC_INPUT_FILES_NUMBER": str(len(names)),
            **{f"IEXEC_INPUT_FILE_NAME_{i}": n for i, n in enumerate(names, 1)},
            **(env or {}),
        }
    )
    argv = entrypoint() + shlex.split(iexec_args)
    proc = subprocess.run(
        argv, cwd=work, env=task_env, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if proc.returncode == 0:
        (iexec_out / "stdout.txt").write_bytes(proc.stdout)
        (iexec_out / "stderr.txt").write_bytes(proc.stderr)
    try:
        computed, det = check_result_folder(iexec_out)
    except ContractViolation as e:
        logs = f"--- stdout\n{proc.stdout.decode()}\n--- stderr\n{proc.stderr.decode()}"
        raise ContractViolation(f"{e}\n{logs}") from None
    digest = "0x" + hashlib.sha256(det.read_bytes()).hexdigest()
    zip_path = work / "result.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(iexec_out.rglob("*")):
            zf.write(path, path.relative_to(iexec_out).as_posix())
    return WorkerRun(argv, proc.returncode, iexec_out, computed, det, digest, zip_path)
