"""tools/iexec/set_app.py: the pushed image's registry digest goes into iexec.json, never a hand copy.

No registry is reachable here, so the engine is a stand-in `docker` on PATH that answers
`image inspect` the way docker does after a push (RepoDigests without the docker.io prefix).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "iexec" / "set_app.py"
IMAGE = "docker.io/maskrcnniexec/mask-rcnn-iexec:1.0.0"
HEX = "3f1c0ba6cf54c6e3f4e0b1d9d1a1f5a3b7c2e8d4f6a0b9c8d7e6f5a4b3c2d1e0"
OWNER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

spec = importlib.util.spec_from_file_location("set_app", SCRIPT)
set_app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(set_app)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "iexec.json", tmp_path / "iexec.json")
    return tmp_path


def run(*args: str, path_dirs: list[Path] | None = None, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if path_dirs is not None:  # only the stand-in engines (plus what python itself needs)
        env["PATH"] = os.pathsep.join(str(d) for d in path_dirs)
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def fake_engine(bindir: Path, name: str, repo_digests: list[str], log: Path) -> None:
    """An executable answering `<engine> image inspect --format {{json .RepoDigests}} IMAGE`."""
    bindir.mkdir(exist_ok=True)
    exe = bindir / name
    exe.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        "if sys.argv[1:3] != ['image', 'inspect']:\n"
        "    sys.exit('unexpected command')\n"
        f"print(json.dumps({repo_digests!r}))\n"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)


def test_digest_read_from_the_engine_lands_in_iexec_json(project: Path) -> None:
    log = project / "engine.log"
    # Docker lists Docker Hub digests without the registry; another registry's digest must be ignored.
    fake_engine(
        project / "bin",
        "docker",
        ["ghcr.io/other/mask-rcnn-iexec@sha256:" + "1" * 64, f"maskrcnniexec/mask-rcnn-iexec@sha256:{HEX}"],
        log,
    )
    proc = run("--image", IMAGE, "--owner", OWNER, path_dirs=[project / "bin"], cwd=project)
    assert proc.returncode == 0, proc.stderr
    app = json.loads((project / "iexec.json").read_text())["app"]
    assert app == {
        "owner": OWNER,
        "name": "mask-rcnn",
        "type": "DOCKER",
        "multiaddr": IMAGE,
        "checksum": "0x" + HEX,
    }
    assert log.read_text().split() == ["image", "inspect", "--format", "{{json", ".RepoDigests}}", IMAGE]


def test_digest_can_be_injected_and_rest_of_the_file_is_kept(project: Path) -> None:
    before = json.loads((project / "iexec.json").read_text())
    proc = run("--image", IMAGE, "--owner", OWNER, "--digest", f"sha256:{HEX}", path_dirs=[], cwd=project)
    assert proc.returncode == 0, proc.stderr
    after = json.loads((project / "iexec.json").read_text())
    assert after["app"]["checksum"] == "0x" + HEX
    assert {k: v for k, v in after.items() if k != "app"} == {k: v for k, v in before.items() if k != "app"}


def test_unpushed_image_is_refused_and_file_untouched(project: Path) -> None:
    fake_engine(project / "bin", "podman", [], project / "engine.log")
    original = (project / "iexec.json").read_text()
    proc = run("--image", IMAGE, "--owner", OWNER, path_dirs=[project / "bin"], cwd=project)
    assert proc.returncode == 1
    assert "no registry digest yet; push it first" in proc.stderr
    assert (project / "iexec.json").read_text() == original


def test_digest_of_another_repository_is_refused(project: Path) -> None:
    fake_engine(project / "bin", "podman", ["docker.io/someone/else@sha256:" + HEX], project / "engine.log")
    proc = run("--image", IMAGE, "--owner", OWNER, path_dirs=[project / "bin"], cwd=project)
    assert proc.returncode == 1
    assert "no registry digest for docker.io/maskrcnniexec/mask-rcnn-iexec" in proc.stderr


@pytest.mark.parametrize(
    "digest",
    ["sha256:" + HEX[:-1], "0x" + HEX, HEX, "sha256:" + HEX.upper(), "sha512:" + HEX + HEX],
)
def test_malformed_digest_is_refused(project: Path, digest: str) -> None:
    proc = run("--image", IMAGE, "--owner", OWNER, "--digest", digest, path_dirs=[], cwd=project)
    assert proc.returncode == 1
    assert "not a registry digest" in proc.stderr


def test_placeholder_owner_must_be_replaced(project: Path) -> None:
    proc = run("--image", IMAGE, "--digest", f"sha256:{HEX}", path_dirs=[], cwd=project)
    assert proc.returncode == 1
    assert "placeholder" in proc.stderr
    proc = run("--image", IMAGE, "--owner", "0x1234", "--digest", f"sha256:{HEX}", path_dirs=[], cwd=project)
    assert proc.returncode == 1
    assert "not an address" in proc.stderr


def test_no_engine_installed_says_what_to_do(project: Path) -> None:
    proc = run("--image", IMAGE, "--owner", OWNER, path_dirs=[project / "empty"], cwd=project)
    assert proc.returncode == 1
    assert "pass --digest" in proc.stderr


@pytest.mark.parametrize(
    ("ref", "repo"),
    [
        ("mask-rcnn-iexec", "docker.io/library/mask-rcnn-iexec"),
        ("maskrcnniexec/mask-rcnn-iexec:1.0.0", "docker.io/maskrcnniexec/mask-rcnn-iexec"),
        (
            "index.docker.io/maskrcnniexec/mask-rcnn-iexec@sha256:" + HEX,
            "docker.io/maskrcnniexec/mask-rcnn-iexec",
        ),
        ("localhost:5000/a/b:tag", "localhost:5000/a/b"),
        ("ghcr.io/Org/img", "ghcr.io/org/img"),
    ],
)
def test_repository_normalisation(ref: str, repo: str) -> None:
    assert set_app.repository(ref) == repo
