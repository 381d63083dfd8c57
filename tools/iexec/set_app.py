#!/usr/bin/env python3
"""Point iexec.json's `app` at a pushed image: multiaddr, checksum (= its registry digest) and owner.

The worker pulls `multiaddr` and refuses to run the image unless its registry digest equals the
app's on-chain `checksum`, so the checksum must be the digest the registry gave the pushed image,
never a local image id. It is read from the engine rather than copied by hand:

    python tools/iexec/set_app.py --image docker.io/ORG/mask-rcnn-iexec:1.0.0 [--owner 0xADDR]
    python tools/iexec/set_app.py --image ... --digest sha256:HEX     # digest known from elsewhere

Without --digest the digest comes from `docker` or `podman image inspect` (RepoDigests, present once
the image was pushed or pulled) or from `skopeo inspect docker://IMAGE` (asks the registry).
Standard library only, so it runs before the project's virtualenv exists.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

PLACEHOLDER_OWNER = "0x000000000000000000000000000000000000dEaD"
DIGEST_RE = re.compile(r"^sha256:([0-9a-f]{64})$")
ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
ENGINES = ("docker", "podman", "skopeo")


class AppConfigError(Exception):
    """One-line reason why iexec.json was left unchanged."""


def repository(ref: str) -> str:
    """The canonical repository of an image reference: registry/path, without tag or digest.

    `mask-rcnn-iexec`, `docker.io/library/mask-rcnn-iexec` and `index.docker.io/...` name the same
    repository; docker prints Docker Hub digests without the registry, podman with it.
    """
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:  # a tag (a port can only sit in the first component)
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry, path = parts[0], parts[1:]
    else:
        registry, path = "docker.io", parts
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = "docker.io"
    if registry == "docker.io" and len(path) == 1:
        path = ["library", *path]
    return f"{registry}/{'/'.join(path)}".lower()


def digest_from_repo_digests(image: str, repo_digests: list[str]) -> str:
    """The `sha256:…` of `image`'s repository among an engine's RepoDigests."""
    want = repository(image)
    for entry in repo_digests:
        if "@" in entry and repository(entry) == want:
            return entry.split("@", 1)[1]
    if repo_digests:
        raise AppConfigError(
            f"{image}: no registry digest for {want} (the image has digests for {', '.join(repo_digests)})"
        )
    raise AppConfigError(f"{image}: the image has no registry digest yet; push it first (make push)")


def _run(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AppConfigError(f"`{' '.join(cmd)}` did not answer within 120 s") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise AppConfigError(f"`{' '.join(cmd)}` failed: {last}")
    return proc.stdout


def read_digest(image: str, engine: str | None) -> str:
    """Ask docker, podman or skopeo (the first one installed, or `engine`) for the pushed digest."""
    candidates = [engine] if engine else [e for e in ENGINES if shutil.which(e)]
    if not candidates:
        raise AppConfigError("none of docker, podman, skopeo is installed; pass --digest sha256:HEX")
    tool = candidates[0]
    if tool == "skopeo":
        info = json.loads(_run(["skopeo", "inspect", f"docker://{image}"]))
        return str(info.get("Digest", ""))
    out = _run([tool, "image", "inspect", "--format", "{{json .RepoDigests}}", image])
    return digest_from_repo_digests(image, json.loads(out.strip() or "[]") or [])


def checksum_of(digest: str) -> str:
    m = DIGEST_RE.match(digest.strip())
    if not m:
        raise AppConfigError(
            f"not a registry digest: {digest!r} (expected sha256: and 64 lowercase hex digits)"
        )
    return "0x" + m.group(1)


def update(conf_path: Path, image: str, digest: str, owner: str | None) -> dict:
    """Write multiaddr, checksum and (when given) owner into the `app` section; return that section."""
    conf = json.loads(conf_path.read_text())
    app = conf.get("app")
    if not isinstance(app, dict):
        raise AppConfigError(f"{conf_path} has no `app` section")
    if owner is not None:
        if not ADDRESS_RE.match(owner):
            raise AppConfigError(f"owner {owner!r} is not an address (0x and 40 hex digits)")
        app["owner"] = owner
    if app.get("owner", "").lower() == PLACEHOLDER_OWNER.lower():
        # An app registered to the placeholder would belong to nobody: nobody could sign its orders.
        raise AppConfigError("app.owner is still the placeholder; pass --owner with your wallet address")
    app["multiaddr"] = image
    app["checksum"] = checksum_of(digest)
    conf_path.write_text(json.dumps(conf, indent=2, ensure_ascii=False) + "\n")
    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--image", required=True, help="pushed image, e.g. docker.io/ORG/mask-rcnn-iexec:1.0.0")
    p.add_argument("--owner", help="address that will own the app (your wallet)")
    p.add_argument("--digest", help="registry digest sha256:HEX, instead of asking an engine")
    p.add_argument("--engine", choices=ENGINES, help="tool to ask for the digest (default: first found)")
    p.add_argument("--iexec-json", default="iexec.json", type=Path, help="file to update")
    a = p.parse_args(argv)
    try:
        digest = a.digest if a.digest else read_digest(a.image, a.engine)
        app = update(a.iexec_json, a.image, digest, a.owner)
    except (AppConfigError, OSError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(
        f"{a.iexec_json}: app {app['name']} owner {app['owner']} multiaddr {app['multiaddr']} "
        f"checksum {app['checksum']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
