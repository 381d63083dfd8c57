#!/usr/bin/env bash
# Regenerate requirements-image.txt: the versions of ../requirements.lock plus setuptools, with
# the sha256 of every published file, so the image build installs only hash-checked wheels.
# Asks PyPI for the hashes (pip-tools in a throw-away venv); a few minutes.
set -euo pipefail
cd "$(dirname "$0")"
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check pip-tools==7.6.2
"$venv/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --no-emit-index-url \
  --no-emit-find-links --strip-extras --rebuild -o requirements-image.txt requirements-image.in
echo "wrote $(pwd)/requirements-image.txt"
