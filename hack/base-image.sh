#!/usr/bin/env bash
# Make (once) a local Debian base image for the Dockerfile when none can be pulled.
#
#   eval "$(bash hack/docker-engine.sh)"     # the engine first
#   bash hack/base-image.sh                  # prints the image name (last line of stdout)
#   docker build --build-arg BASE_IMAGE=vigil-base:bookworm ...
#
# Why: our machines reach Debian's archive but no container registry, so python:3.12-slim
# (the Dockerfile's default) cannot be pulled. debootstrap builds the same kind of base
# from Debian's packages:
#
#   debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
#       bookworm <cache>/base-image/bookworm-rootfs
#   tar -C <rootfs> -c . | docker import - vigil-base:bookworm
#
# - Debian's python3 is /usr/bin/python3 (3.11 in bookworm), not /usr/local/bin/python3.12
#   as in python:*-slim; the Dockerfile uses `python3 -m venv` so either base works.
# - Idempotent: an existing image is kept (exit at once); a finished rootfs in the cache
#   (${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/base-image/) is re-imported without
#   debootstrap. debootstrap runs in a temp dir renamed into place when it succeeds, so an
#   interrupted run never leaves a half-made rootfs. `--rebuild` forces both steps.
# - Measured here: debootstrap about 45 s, a 300 MB rootfs; the import a few seconds.
# - Knobs: VIGIL_BASE_IMAGE (name, default vigil-base:bookworm), VIGIL_DEBIAN_SUITE
#   (bookworm), VIGIL_DEBIAN_MIRROR (default: the Debian mirror this machine's apt uses), DOCKER (client,
#   default /usr/bin/docker), DOCKER_HOST (from hack/docker-engine.sh).
# Needs root (debootstrap chroots and creates device nodes) and `apt-get install debootstrap`.
set -euo pipefail

SUITE="${VIGIL_DEBIAN_SUITE:-bookworm}"
IMAGE="${VIGIL_BASE_IMAGE:-vigil-base:$SUITE}"
# The mirror this machine's apt already uses (deb822 sources, else sources.list).
apt_mirror() {  # either file may be missing: never fail the script over it
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p'
    cat /etc/apt/sources.list 2>/dev/null | sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p'
  } | grep -v -e security -e '^$' | head -n1 || true
}
MIRROR="${VIGIL_DEBIAN_MIRROR:-$(apt_mirror)}"
if [ -z "$MIRROR" ]; then
  echo "base-image: no Debian mirror found in apt's sources; set VIGIL_DEBIAN_MIRROR" >&2
  exit 1
fi
PACKAGES="python3,python3-venv,python3-pip,ca-certificates"
CACHE_DIR="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/base-image"
ROOTFS="$CACHE_DIR/$SUITE-rootfs"
DOCKER="${DOCKER:-/usr/bin/docker}"

REBUILD=0
case "${1:-}" in
  --rebuild) REBUILD=1 ;;
  --print-mirror) printf '%s\n' "$MIRROR"; exit 0 ;;  # for hack/kind/node-image.sh
  "") ;;
  *) echo "usage: $0 [--rebuild|--print-mirror]" >&2; exit 2 ;;
esac

log() { printf 'base-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -x "$DOCKER" ]] || die "$DOCKER not found: apt-get install -y docker.io"
"$DOCKER" info >/dev/null 2>&1 || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}); run: eval \"\$(bash hack/docker-engine.sh)\""

if ((!REBUILD)) && "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE exists"
  printf '%s\n' "$IMAGE"
  exit 0
fi

if ((REBUILD)) || [[ ! -e "$ROOTFS/.vigil-complete" ]]; then
  command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install -y debootstrap"
  mkdir -p "$CACHE_DIR"
  tmp="$(mktemp -d "$CACHE_DIR/.rootfs.XXXXXX")"
  chmod 0755 "$tmp"  # it becomes the image's /: mktemp's 0700 would lock out non-root users
  # debootstrap mounts /proc and /sys inside the target while it works; never leave them.
  cleanup() { umount -l "$tmp/proc" "$tmp/sys" 2>/dev/null || true; rm -rf "$tmp"; }
  trap cleanup EXIT
  log "debootstrap $SUITE into $tmp (about 45 s)"
  started=$SECONDS
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$tmp" "$MIRROR" \
    >"$CACHE_DIR/debootstrap.log" 2>&1 || {
      tail -n 20 "$CACHE_DIR/debootstrap.log" >&2
      die "debootstrap failed (log: $CACHE_DIR/debootstrap.log)"
    }
  # What an image does not need: downloaded .debs and package lists (apt-get update
  # fetches lists again when someone installs more on top).
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* "$tmp"/var/log/*.log
  touch "$tmp/.vigil-complete"
  rm -rf "$ROOTFS"
  mv "$tmp" "$ROOTFS"
  trap - EXIT
  log "debootstrap done in $((SECONDS - started)) s ($(du -sh "$ROOTFS" | cut -f1))"
fi

log "importing $ROOTFS as $IMAGE"
# mktemp made the rootfs dir 0700; as the image's / that would lock out every non-root user.
chmod 0755 "$ROOTFS"
# Docker supplies /dev, /proc and /sys at run time; the marker file stays out.
tar --numeric-owner -C "$ROOTFS" \
    --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* --exclude=./.vigil-complete -c . \
  | "$DOCKER" import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'ENV LANG=C.UTF-8' \
      -c 'CMD ["/bin/bash"]' \
      -m "debootstrap --variant=minbase --include=$PACKAGES $SUITE" \
      - "$IMAGE" >/dev/null
printf '%s\n' "$IMAGE"
