#!/usr/bin/env bash
# Build (once) the images of the chart's in-cluster database and Redis for clusters that
# cannot pull `mariadb` / `redis` from a registry, and print their names (stdout, one per
# line; progress goes to stderr):
#
#   bash hack/kind/service-images.sh            # builds what is missing or out of date
#   bash hack/kind/service-images.sh --rebuild  # builds both again (no BuildKit cache)
#   bash hack/kind/service-images.sh --test     # then runs each as the chart does and connects
#
#   vigil-e2e/mariadb:10.11   Debian's mariadb-server (hack/kind/images/mariadb/); the
#                             official image's MYSQL_*/MARIADB_* environment, any uid
#   vigil-e2e/redis:7         Debian's redis-server 7.0 (hack/kind/images/redis/)
#
# Install the chart with them (an offline kind cluster, after `kind load`):
#   --set mysql.image.repository=vigil-e2e/mariadb --set mysql.image.tag=10.11
#   --set redis.image.repository=vigil-e2e/redis --set redis.image.tag=7
#
# - Engine and base: the private engine (hack/docker-engine.sh: started or reused, never
#   stopped here; shared with other work) and the debootstrap base (hack/base-image.sh,
#   vigil-base:bookworm). The engine has no bridge network, so `docker build
#   --network=host`; apt inside the build uses the base's sources.list, i.e. the Debian
#   mirror base-image.sh took from this machine's apt (no registry, no CA needed for it).
# - The build context is hack/kind/images/ (apt-install.sh is shared), the Dockerfile the
#   image's own. Up to date means: the image exists and its label vigil.dev/context-hash
#   equals the hash of its directory, apt-install.sh and the base image id, so an edited
#   entrypoint or a new base rebuilds; an unchanged one costs a `docker image inspect`.
# - Measured on 2 cores (2026-12-04, while a Kubernetes build ran), base image present:
#   mariadb 20 s (520 MB), redis 5 s (276 MB) with --rebuild; a hit under 1 s; --test
#   3 s. A fresh machine adds the engine start (a few s) and base-image.sh (about 65 s).
# - --test: each image runs with --network=host --read-only --user 10001:10001, its volumes
#   as tmpfs, bound to 127.0.0.1 on a free port; the image's own client (mariadb as the
#   created user, redis-cli) must answer; the containers are removed either way.
# Knobs: DOCKER (client, default /usr/bin/docker), VIGIL_BASE_IMAGE (see base-image.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
IMAGES_DIR="$ROOT/hack/kind/images"
# name:tag, then the directory under hack/kind/images/
IMAGES=("vigil-e2e/mariadb:10.11 mariadb" "vigil-e2e/redis:7 redis")

log() { printf 'service-images: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

REBUILD=0
TEST=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=1 ;;
    --test) TEST=1 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--rebuild] [--test]" >&2; exit 2 ;;
  esac
done

eval "$(bash "$ROOT/hack/docker-engine.sh")"
DOCKER="${DOCKER:-/usr/bin/docker}"
BASE="$(bash "$ROOT/hack/base-image.sh" | tail -n1)"
[[ -n "$BASE" ]] || die "hack/base-image.sh printed no image name"
base_id="$("$DOCKER" image inspect -f '{{.Id}}' "$BASE")"

context_hash() {  # one image's directory, the shared apt-install.sh and the base image
  (cd "$IMAGES_DIR" && find "$1" apt-install.sh -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
   printf 'base %s\n' "$base_id") | sha256sum | cut -c1-16
}

for entry in "${IMAGES[@]}"; do
  read -r image dir <<<"$entry"
  hash="$(context_hash "$dir")"
  have="$("$DOCKER" image inspect -f '{{ index .Config.Labels "vigil.dev/context-hash" }}' "$image" 2>/dev/null || true)"
  if ((!REBUILD)) && [[ "$have" == "$hash" ]]; then
    log "$image is up to date"
  else
    log "building $image from hack/kind/images/$dir/${have:+ (its files or the base changed)}"
    started=$SECONDS
    no_cache=()
    ((REBUILD)) && no_cache=(--no-cache)
    DOCKER_BUILDKIT=1 "$DOCKER" build --network=host "${no_cache[@]}" --progress=plain \
        --build-arg "BASE_IMAGE=$BASE" --label "vigil.dev/context-hash=$hash" \
        -f "$IMAGES_DIR/$dir/Dockerfile" -t "$image" "$IMAGES_DIR" >&2 \
      || die "building $image failed"
    size="$("$DOCKER" image inspect -f '{{.Size}}' "$image")"
    log "built $image in $((SECONDS - started)) s ($((size / 1000000)) MB)"
  fi
  printf '%s\n' "$image"
done

((TEST)) || exit 0

# ---- --test: run each image the way the chart does, on loopback, and connect ----------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
RUN=("$DOCKER" run -d --network=host --read-only --user 10001:10001 --tmpfs /tmp)
containers=()
cleanup() { ((${#containers[@]})) && "$DOCKER" rm -f "${containers[@]}" >/dev/null 2>&1 || true; }
trap cleanup EXIT
answers_within() {  # answers_within SECONDS CONTAINER COMMAND...: retry until it succeeds
  local deadline=$((SECONDS + $1)) name="$2"; shift 2
  until "$DOCKER" exec "$name" "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)) || [[ "$("$DOCKER" inspect -f '{{.State.Running}}' "$name")" != true ]]; then
      "$DOCKER" logs "$name" >&2 || true
      die "$name did not answer: $*"
    fi
    sleep 0.5
  done
}

name="vigil-service-test-mariadb-$$"
port="$(free_port)"
password="p'w\\d\"\$x $$"  # quotes, a backslash and a dollar: the entrypoint must escape them
"${RUN[@]}" --name "$name" --tmpfs /var/lib/mysql:uid=10001,gid=10001 \
  --tmpfs /var/run/mysqld:uid=10001,gid=10001 -e MYSQL_DATABASE=vigil -e MYSQL_USER=vigil \
  -e "MYSQL_PASSWORD=$password" -e MYSQL_RANDOM_ROOT_PASSWORD=yes \
  vigil-e2e/mariadb:10.11 --port="$port" --bind-address=127.0.0.1 >/dev/null
containers+=("$name")
answers_within 60 "$name" mariadb -h 127.0.0.1 -P "$port" -u vigil "-p$password" vigil \
  -e 'CREATE TABLE probe (id INT PRIMARY KEY); INSERT INTO probe VALUES (1); SELECT id FROM probe'
log "vigil-e2e/mariadb:10.11 answered on 127.0.0.1:$port as user vigil (read-only root, uid 10001)"

name="vigil-service-test-redis-$$"
port="$(free_port)"
"${RUN[@]}" --name "$name" --tmpfs /data:uid=10001,gid=10001 vigil-e2e/redis:7 \
  redis-server --port "$port" --bind 127.0.0.1 --protected-mode no --save "" --appendonly no \
  --maxmemory 64mb --maxmemory-policy allkeys-lru >/dev/null
containers+=("$name")
answers_within 30 "$name" redis-cli -p "$port" set probe 1
[[ "$("$DOCKER" exec "$name" redis-cli -p "$port" get probe)" == 1 ]] || die "redis did not keep a key"
log "vigil-e2e/redis:7 answered on 127.0.0.1:$port (read-only root, uid 10001)"
