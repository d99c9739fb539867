#!/usr/bin/env bash
# Start (once) a private Docker engine for building and running Vigil's image, and
# print how to reach it. Use:
#
#   eval "$(bash hack/docker-engine.sh)"      # start or reuse; prints the export lines
#   bash hack/docker-engine.sh status         # exit 0 when it answers, 1 otherwise
#   bash hack/docker-engine.sh stop           # stop it (by the pid in its pidfile)
#
# Why a private engine: our machines run no Docker daemon and can pull no image. Debian's
# docker.io (`apt-get install -y docker.io`) brings dockerd 20.10 and a client that builds
# with BuildKit; this script starts that dockerd with everything under one cache dir:
#
#   ${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/docker/{docker.sock,dockerd.pid,dockerd.log,data/,exec/}
#
# - Storage driver: overlay2 when an overlay mount works in the cache dir (it does on our
#   VMs: ext4, kernel with overlayfs), else vfs, which works anywhere but copies the
#   whole filesystem for every layer and container (measured here: `docker run` of the
#   440 MB app image 15.8 s with vfs, 0.5 s with overlay2; 15 GB after a few builds).
#   VIGIL_DOCKER_STORAGE_DRIVER=vfs|overlay2 forces one. Each driver keeps its own images.
# - No bridge, no iptables: run containers (and `docker build`) with `--network=host` and
#   bind services to 127.0.0.1.
# - VIGIL_DOCKER_NETNS=NAME runs the engine for kind clusters instead (hack/kind/engine.sh):
#   in a network namespace of its own, made here and deleted by `stop`, where it may create
#   bridges and iptables rules without touching the host's (two dockerds in one namespace
#   fight over docker0 and the DOCKER chains; a dockerd with iptables on the host would set
#   FORWARD to DROP); `stop` unmounts what it leaves. Its default runtime is hack/kind/runc-fit-caps, which lets
#   privileged containers (kind nodes) start on machines whose bounding set lacks a
#   capability. Nothing in that namespace reaches the internet: it is for local images only.
# - The data root lives in the cache dir, so images and BuildKit's cache survive between
#   runs (a warm rebuild takes seconds). `docker system prune` trims it; removing the dir
#   after `stop` resets it.
# - Use Debian's client /usr/bin/docker with DOCKER_BUILDKIT=1. Another docker client on
#   PATH (e.g. /usr/local/bin/docker 28.x) refuses BuildKit without the buildx plugin.
#   The printed lines export DOCKER (that client's path), DOCKER_HOST and DOCKER_BUILDKIT.
# - Idempotent: a running engine (its pid alive and `docker info` answering) is reused;
#   a stale pidfile or socket is removed first. dockerd is detached (setsid), so it
#   outlives this script; stop it with `stop`.
# - Progress and errors go to stderr; stdout carries only the export lines.
set -euo pipefail

CACHE_DIR="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}"
ENGINE_DIR="${VIGIL_DOCKER_DIR:-$CACHE_DIR/docker}"
SOCK="$ENGINE_DIR/docker.sock"
PIDFILE="$ENGINE_DIR/dockerd.pid"
LOG="$ENGINE_DIR/dockerd.log"
DATA_ROOT="$ENGINE_DIR/data"
EXEC_ROOT="$ENGINE_DIR/exec"
DOCKER="${VIGIL_DOCKER_CLIENT:-/usr/bin/docker}"
DOCKERD="${VIGIL_DOCKERD:-$(command -v dockerd || echo /usr/sbin/dockerd)}"
START_TIMEOUT="${VIGIL_DOCKER_START_TIMEOUT:-60}"
NETNS="${VIGIL_DOCKER_NETNS:-}"
RUNC_WRAPPER="$(cd "$(dirname "$0")" && pwd)/kind/runc-fit-caps"

log() { printf 'docker-engine: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# overlay2 needs a kernel with overlayfs and a backing filesystem that can hold its upper
# dirs (not overlayfs itself, as inside many containers): try one real mount to find out.
storage_driver() {
  if [[ -n "${VIGIL_DOCKER_STORAGE_DRIVER:-}" ]]; then
    printf '%s\n' "$VIGIL_DOCKER_STORAGE_DRIVER"
    return
  fi
  local probe driver=vfs
  probe="$(mktemp -d "$ENGINE_DIR/.overlay-probe.XXXXXX")"
  mkdir -p "$probe"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
      "$probe/merged" 2>/dev/null; then
    umount "$probe/merged"
    driver=overlay2
  fi
  rm -rf "$probe"
  printf '%s\n' "$driver"
}

answers() { DOCKER_HOST="unix://$SOCK" "$DOCKER" info >/dev/null 2>&1; }

running_pid() { # print the pid of a live dockerd from the pidfile, else fail
  local pid
  [[ -s "$PIDFILE" ]] || return 1
  pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

print_env() {
  printf 'export DOCKER=%q\n' "$DOCKER"
  printf 'export DOCKER_HOST=%q\n' "unix://$SOCK"
  printf 'export DOCKER_BUILDKIT=1\n'
}

start() {
  [[ -x "$DOCKERD" ]] || die "dockerd not found: apt-get install -y docker.io"
  [[ -x "$DOCKER" ]] || die "$DOCKER not found (Debian's client): apt-get install -y docker.io"
  # A unix socket path must fit in 108 bytes; containerd's lives under the exec root.
  if ((${#EXEC_ROOT} + 40 > 108)); then
    die "cache dir path too long for unix sockets ($EXEC_ROOT); set VIGIL_DOCKER_DIR to a shorter dir"
  fi
  if running_pid >/dev/null && answers; then
    log "reusing the engine at $SOCK (pid $(running_pid))"
    print_env
    return 0
  fi
  local launched=""
  if pid="$(running_pid)"; then
    log "dockerd pid $pid is alive but does not answer yet; waiting"
    launched="$pid"
  else
    rm -f "$PIDFILE" "$SOCK"
    mkdir -p "$DATA_ROOT" "$EXEC_ROOT"
    local driver
    driver="$(storage_driver)"
    [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"  # keep one previous log, not all of them
    log "starting dockerd, storage driver $driver${NETNS:+, network namespace $NETNS} (log: $LOG)"
    local wrap=() network=(--iptables=false --ip-masq=false --bridge=none)
    if [[ -n "$NETNS" ]]; then
      ip netns list | grep -qx "$NETNS\( .*\)\?" || ip netns add "$NETNS"
      ip -n "$NETNS" link set lo up
      # nsenter, not `ip netns exec`: that one also remounts /sys, and the cgroup mounts with it.
      wrap=(nsenter --net="/run/netns/$NETNS")
      network=(--add-runtime "vigil-runc=$RUNC_WRAPPER" --default-runtime vigil-runc)
    fi
    # setsid + nohup: the daemon must not die with the shell or the test that started it.
    # (Without job control a background job is no group leader, so setsid execs in place
    # and $! is dockerd's own pid; `ip netns exec` execs in place too.)
    "${wrap[@]}" setsid nohup "$DOCKERD" \
      --storage-driver="$driver" "${network[@]}" \
      -H "unix://$SOCK" --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE" \
      >>"$LOG" 2>&1 </dev/null &
    launched=$!
  fi
  local deadline=$((SECONDS + START_TIMEOUT))
  until answers; do
    if ! kill -0 "$launched" 2>/dev/null; then
      tail -n 20 "$LOG" >&2 || true
      die "dockerd exited (log: $LOG)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 20 "$LOG" >&2 || true
      die "dockerd did not answer on $SOCK within ${START_TIMEOUT}s (log: $LOG)"
    fi
    sleep 0.5
  done
  log "engine ready at $SOCK (pid $(running_pid || echo '?'))"
  print_env
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    rm -f "$PIDFILE"
    delete_netns
    return 0
  fi
  log "stopping dockerd pid $pid"
  kill -TERM "$pid"
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "dockerd pid $pid ignored SIGTERM for 30s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$PIDFILE" "$SOCK"
  # dockerd may leave its default network namespace and its data root mounted (seen after
  # a vfs engine stopped); unmount them so the cache dir can be removed.
  local mounted
  for mounted in "$EXEC_ROOT/netns/default" "$DATA_ROOT"; do
    if mountpoint -q "$mounted" 2>/dev/null; then
      umount "$mounted" 2>/dev/null || log "could not unmount $mounted"
    fi
  done
  delete_netns
}

delete_netns() {
  [[ -n "$NETNS" ]] && ip netns list | grep -qx "$NETNS\( .*\)\?" || return 0
  ip netns delete "$NETNS" && log "deleted network namespace $NETNS"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) running_pid >/dev/null && answers ;;
  env) print_env ;;
  *) echo "usage: $0 [start|stop|status|env]" >&2; exit 2 ;;
esac
