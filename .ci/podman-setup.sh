#!/usr/bin/env bash
# Prepare this machine to build and run the project's Dockerfile without a Docker daemon or
# Docker Hub: podman from Debian, the engine settings this VM needs, and a local base image
# bootstrapped with debootstrap and tagged as the Dockerfile's `FROM python:3.11-slim`.
# Idempotent: every step checks what is already there, so re-running costs seconds.
#
#   bash .ci/podman-setup.sh            (as root)
#   WORK=/some/dir SUITE=bookworm BASE_TAG=... bash .ci/podman-setup.sh
set -euo pipefail

WORK=${WORK:-/var/tmp/mrcnn-podman}
BASE_TAG=${BASE_TAG:-docker.io/library/python:3.11-slim}
SUITE=${SUITE:-bookworm}          # bookworm ships Python 3.11, like python:3.11-slim
log() { printf '[podman-setup %(%T)T] %s\n' -1 "$*"; }

if [ "$(id -u)" != 0 ]; then
  echo "podman-setup: run as root (apt-get, debootstrap and rootful podman)" >&2
  exit 2
fi

# 1. tools from Debian
tools=(podman buildah runc conmon fuse-overlayfs slirp4netns uidmap iptables
       containernetworking-plugins golang-github-containers-common debootstrap)
installed=$(dpkg-query -W -f='${Status}\n' "${tools[@]}" 2>/dev/null | grep -c '^install ok installed$' || true)
if [ "$installed" = "${#tools[@]}" ]; then
  log "podman and friends already installed"
else
  log "installing podman, buildah, runc, debootstrap from Debian"
  apt-get update -qq -o Acquire::Retries=3
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Acquire::Retries=3 \
    --no-install-recommends "${tools[@]}" >/dev/null
fi

# 2. engine settings. This VM lacks CAP_SYS_RESOURCE (hard nofile is 20000), so podman's default
#    rlimits fail with "setrlimit RLIMIT_NOFILE: Operation not permitted"; its cgroup v1/v2 hybrid
#    layout makes crun fail ("cgroups in hybrid mode not supported"), runc + cgroupfs work.
conf=/etc/containers/containers.conf
want=$(cat <<'CONF'
# written by the project's .ci/podman-setup.sh
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
)
if [ -f "$conf" ] && [ "$(cat "$conf")" = "$want" ]; then
  log "containers.conf already set"
else
  [ -f "$conf" ] && cp "$conf" "$conf.bak.$(date +%s)"   # keep whatever was there before
  mkdir -p /etc/containers
  printf '%s\n' "$want" >"$conf"
  log "wrote $conf"
fi

# 3. local base image, tagged as the name the Dockerfile's FROM uses
if podman image exists "$BASE_TAG"; then
  log "base image $BASE_TAG already present"
else
  # The mirror apt already uses on this machine (never a host name written in the repo).
  MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$MIRROR" ] || MIRROR=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  if [ -z "$MIRROR" ]; then
    echo "podman-setup: cannot find a Debian mirror in apt's sources" >&2
    exit 1
  fi
  mkdir -p "$WORK"
  rootfs=$WORK/rootfs
  log "debootstrap $SUITE (about a minute)"
  for attempt in 1 2; do   # a second try absorbs a transient mirror hiccup
    rm -rf "$rootfs"
    if debootstrap --variant=minbase --include=ca-certificates,python3,python3-venv,python3-pip \
         "$SUITE" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
      break
    fi
    tail -20 "$WORK/debootstrap.log" >&2
    [ "$attempt" = 2 ] && { echo "podman-setup: debootstrap failed" >&2; exit 1; }
    log "debootstrap failed; trying once more"
  done
  # Registries are reached through a TLS-intercepting proxy here: trust its CA inside the base
  # (fine for CI; an image built on such a base is not the one to publish).
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  fi
  chroot "$rootfs" update-ca-certificates >/dev/null
  # Behave like python:*-slim: system-wide pip allowed, `python` on PATH.
  rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
  ln -sf python3 "$rootfs/usr/bin/python"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  log "importing the base image"
  tar -C "$rootfs" -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' - localhost/mrcnn-base:latest >/dev/null
  podman tag localhost/mrcnn-base:latest "$BASE_TAG"
  rm -rf "$rootfs"
  log "base image tagged $BASE_TAG"
fi
