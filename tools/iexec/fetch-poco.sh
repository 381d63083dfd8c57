#!/usr/bin/env bash
# Fetch the PoCo 6.1.0 contract artifacts (npm package @iexec/poco) without installing its dependencies:
# several of them are GitHub URLs, which `npm ci` cannot reach from CI, and only the compiled artifacts are
# needed. `npm pack` downloads the registry tarball; its sha512 is checked against the pinned integrity.
# Prints the unpacked package folder.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SPEC=$(node -p 'require(process.argv[1]).iexecTools.poco' "$HERE/package.json")
WANT=$(node -p 'require(process.argv[1]).iexecTools.pocoIntegrity' "$HERE/package.json")
DEST=$HERE/.poco
if [[ -f "$DEST/package/package.json" ]] && [[ "$(cat "$DEST/integrity" 2>/dev/null)" == "$WANT" ]]; then
  echo "$DEST/package"; exit 0
fi
rm -rf "$DEST" && mkdir -p "$DEST"
(cd "$DEST" && npm pack "$SPEC" --silent --no-fund --no-audit >/dev/null)
TGZ=$(ls "$DEST"/*.tgz)
GOT=$(node -e 'const c=require("node:crypto"),fs=require("node:fs");
  process.stdout.write("sha512-"+c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$TGZ")
if [[ "$GOT" != "$WANT" ]]; then
  echo "integrity mismatch for $SPEC: got $GOT, want $WANT" >&2; rm -rf "$DEST"; exit 1
fi
tar -xzf "$TGZ" -C "$DEST" && rm -f "$TGZ"
echo "$WANT" >"$DEST/integrity"
echo "$DEST/package"
