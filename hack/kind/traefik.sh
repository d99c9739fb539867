#!/usr/bin/env bash
# Build (once) Traefik, the kind cluster's ingress controller, and its container image,
# from the Go module proxy alone. Prints the image name (the only line on stdout).
#
#   eval "$(bash hack/docker-engine.sh)"    # or hack/kind/engine.sh: the engine that gets the image
#   image="$(bash hack/kind/traefik.sh)"    # vigil-e2e/traefik:v3.7.13
#   bash hack/kind/traefik.sh --binary      # only the binary: print its path; no Docker
#
# Why: no container registry is reachable, so traefik:v3 cannot be pulled; its Go module
# can. hack/kind/traefik.yaml runs the image (imagePullPolicy: Never).
#
# - Binary: CGO_ENABLED=0 (static), -trimpath, -ldflags "-s -w" plus the version stamp of
#   traefik's Makefile (pkg/version.Version, Codename from that Makefile, BuildDate = the
#   release's time from the proxy's .info, so rebuilds are identical). Cached by version in
#   ${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/kind/traefik-<version>/traefik; a cache hit makes
#   no go call. Built in a temp dir renamed into place, so an interrupted build leaves nothing.
# - Image: FROM scratch + the binary, USER 65532, ENTRYPOINT ["/traefik"]; built with
#   `docker build --network=host` in the engine named by DOCKER/DOCKER_HOST, skipped when the
#   image exists. This script never starts or stops an engine.
# - Measured on 2 cores (-p 2) with a Kubernetes build running alongside (2026-12-04):
#   cold binary build 392 s (6.5 min; its ~30 s of module downloads had already been done
#   once; the Go build cache shared client-go and friends with hack/k8s-assets.sh); the
#   image 3 s; all cached: 0.07 s (--binary: 0.002 s). Binary 166 MiB, image 174 MB.
#
# Workarounds: `go install github.com/traefik/traefik/v3/cmd/traefik@v3.7.13` cannot work
# (its go.mod has replace directives) and some of its dependencies are not served by the
# Go module proxy we reach. So we build from a generated wrapper module that requires
# traefik, copies its excludes and its replace directives, except:
# 1. github.com/traefik/traefik/dynamic/ext => ./pkg/config/dynamic/ext: a nested module of
#    traefik's repository, neither in the module zip nor served. We write a stub with the
#    same content as upstream's open-source ext.go (two empty structs, extension points).
# 2. github.com/abbot/go-http-auth => the containous fork at b975dcaa8c48 (2026-08): not
#    served; we use the fork's a37a7636d23e (2020), which traefik v3.7.10 still used (same
#    API). It only serves the basicAuth/digestAuth middlewares, which Vigil's e2e does not use:
#    do not rely on those with this build.
# 3. github.com/go-acme/lego/v5 (ACME; its providers/dns registry imports every DNS-01
#    provider): the SDKs of six providers are not served (akamai edgegrid, huaweicloud,
#    oci-go-sdk, sacloud, ucloud, yandex-cloud dns). We copy lego at traefik's pinned version
#    into the wrapper without edgedns, huaweicloud, oraclecloud, sakuracloud, ucloud and
#    yandexcloud (naming one in a certresolver fails: "unrecognized DNS provider"). ACME is
#    off in the kind cluster anyway.
# The web UI (webui/static, //go:embed) holds only a placeholder file in the module zip, so
# the embed compiles and the dashboard is empty; we never enable it, so no placeholder of ours.
#
# Knobs: VIGIL_TRAEFIK_VERSION (default the pin below, the newest v3.7.x the proxy served on
# 2026-12-04; the workarounds above were checked for it only), VIGIL_TRAEFIK_IMAGE,
# VIGIL_BUILD_JOBS (default 2), GO, DOCKER, DOCKER_HOST.
set -euo pipefail

VERSION="${VIGIL_TRAEFIK_VERSION:-v3.7.13}"
IMAGE="${VIGIL_TRAEFIK_IMAGE:-vigil-e2e/traefik:$VERSION}"
MODULE=github.com/traefik/traefik/v3
CACHE_ROOT="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/kind"
DEST="$CACHE_ROOT/traefik-$VERSION"
BIN="$DEST/traefik"
DOCKER="${DOCKER:-/usr/bin/docker}"
JOBS="${VIGIL_BUILD_JOBS:-2}"
# Workarounds for modules the Go module proxy does not serve (see the header).
HTTP_AUTH_FORK="github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e"
LEGO_MODULE=github.com/go-acme/lego/v5
LEGO_DROP=(edgedns huaweicloud oraclecloud sakuracloud ucloud yandexcloud)

BINARY_ONLY=0
case "${1:-}" in
  --binary) BINARY_ONLY=1 ;;
  "") ;;
  *) echo "usage: $0 [--binary]" >&2; exit 2 ;;
esac

log() { printf 'traefik: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=../lib/gomod.sh
source "$(dirname "$0")/../lib/gomod.sh"  # module_field

# Print the entries of go.mod directive $2 (replace, exclude), single-line or block, comments cut.
directive_entries() {
  awk -v d="$2" '
    $0 ~ "^"d" \\(" { block = 1; next }
    block && /^\)/ { block = 0; next }
    block { print; next }
    $0 ~ "^"d" " { sub("^"d" ", ""); print }
  ' "$1" | sed 's#//.*##; s/^[[:space:]]*//; s/[[:space:]]*$//' | grep -v '^$' || true
}

# Copy module $1@$2 into dir $3 without the DNS providers named after it: lego's registry
# (providers/dns/zz_gen_dns_providers.go) imports each provider and maps names to it in a
# switch (`case "name", ...:` then `return <pkg>.NewDNSProvider()`).
patched_lego() {
  local mod="$1" ver="$2" out="$3" registry p
  shift 3
  cp -r "$(module_field "$mod@$ver" Dir)" "$out"
  chmod -R u+w "$out"
  registry="$out/providers/dns/zz_gen_dns_providers.go"
  for p in "$@"; do rm -rf "$out/providers/dns/$p"; done
  awk -v drop=" $* " -v prefix="\"$mod/providers/dns/" '
    index($1, prefix) == 1 {             # an import line
      p = $1; gsub(/"/, "", p); sub(/.*\//, "", p)
      if (index(drop, " " p " ")) next
    }
    pending != "" {                      # the line after a case
      p = $2; sub(/\..*/, "", p)
      if (!($1 == "return" && index(drop, " " p " "))) print pending "\n" $0
      pending = ""; next
    }
    $1 == "case" { pending = $0; next }
    { print }
  ' "$registry" >"$registry.tmp"
  mv "$registry.tmp" "$registry"
  for p in "$@"; do
    if grep -q -e "/providers/dns/$p\"" -e "[[:space:]]$p\.NewDNSProvider" "$registry"; then
      die "could not drop DNS provider $p from $mod's registry"
    fi
  done
}

build_binary() {
  GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
  [[ -x "$GO" ]] || die "go not found (set GO= or put go on PATH)"
  mkdir -p "$CACHE_ROOT"
  WORK="$(mktemp -d "$CACHE_ROOT/.traefik-build.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  trap 'exit 130' INT TERM  # make sure the EXIT trap runs
  local start=$SECONDS gomod info src dir codename date ldflags line mod target lego_ver
  local v="$MODULE/pkg/version"
  log "downloading $MODULE@$VERSION"
  gomod="$(module_field "$MODULE@$VERSION" GoMod)"
  info="$(module_field "$MODULE@$VERSION" Info)"
  src="$(module_field "$MODULE@$VERSION" Dir)"
  [[ -f "$gomod" && -f "$info" && -d "$src" ]] || die "could not download $MODULE@$VERSION"
  lego_ver="$(sed -n "s#^[[:space:]]*$LEGO_MODULE \(v[^[:space:]]*\).*#\1#p" "$gomod" | head -n1)"
  [[ -n "$lego_ver" ]] || die "$MODULE@$VERSION does not require $LEGO_MODULE"

  dir="$WORK/mod"
  mkdir -p "$dir/ext"
  {
    echo "module vigil.local/kind/traefik"
    echo
    sed -n 's/^go \([0-9.]*\).*/go \1/p' "$gomod" | head -n1
    echo
    echo "require $MODULE $VERSION"
    echo
    while read -r line; do
      mod="${line%%[[:space:]]*}"
      target="${line#*=>}"; target="${target#"${target%%[![:space:]]*}"}"
      case "$mod:$target" in
        github.com/traefik/traefik/dynamic/ext:./*) echo "replace $mod => ./ext" ;;
        github.com/abbot/go-http-auth:*) echo "replace $mod => $HTTP_AUTH_FORK" ;;
        *:./*|*:../*) die "unexpected local replace in $MODULE's go.mod: $line" ;;
        *) echo "replace $line" ;;
      esac
    done < <(directive_entries "$gomod" replace)
    echo "replace $LEGO_MODULE => ./lego"
    directive_entries "$gomod" exclude | sed 's/^/exclude /'
  } >"$dir/go.mod"
  printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24.0\n' >"$dir/ext/go.mod"
  printf '%s\n' \
    '// Package ext stands in for the nested module of traefik'"'"'s repository of the same path' \
    '// (not served by the Go module proxy): extension points, empty in open-source Traefik.' \
    'package ext' '' \
    '// HTTP is a dynamic.HTTP extension.' 'type HTTP struct{}' '' \
    '// Router is a dynamic.Router extension.' 'type Router struct{}' >"$dir/ext/ext.go"
  log "copying $LEGO_MODULE@$lego_ver without DNS providers ${LEGO_DROP[*]}"
  patched_lego "$LEGO_MODULE" "$lego_ver" "$dir/lego" "${LEGO_DROP[@]}"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s/cmd/traefik"\n' "$MODULE" >"$dir/tools.go"
  # Upstream's checksums: the wrapper's build list is traefik's own.
  if [[ -f "$src/go.sum" ]]; then cp "$src/go.sum" "$dir/go.sum"; chmod u+w "$dir/go.sum"; fi
  log "wrapper module: $(grep -c '^replace' "$dir/go.mod") replaces, $(grep -c '^exclude' "$dir/go.mod") exclude(s)"

  codename="$(sed -n 's/^CODENAME[[:space:]]*?=[[:space:]]*\([^[:space:]]*\).*/\1/p' "$src/Makefile" 2>/dev/null | head -n1)"
  date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info")"
  ldflags="-s -w -X $v.Version=$VERSION -X $v.BuildDate=${date:-unknown}"
  if [[ -n "$codename" ]]; then ldflags+=" -X $v.Codename=$codename"; fi

  export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
  (cd "$dir" && "$GO" mod tidy -e >&2)
  log "compiling traefik $VERSION (-p $JOBS; several minutes cold)"
  mkdir -p "$WORK/out"
  (cd "$dir" && "$GO" build -p "$JOBS" -trimpath -ldflags "$ldflags" -o "$WORK/out/traefik" "$MODULE/cmd/traefik" >&2)
  "$WORK/out/traefik" version >&2 || die "the new binary does not run"

  # Atomic publish. A concurrent build that finished first wins; ours is discarded.
  if ! mv -T "$WORK/out" "$DEST" 2>/dev/null; then
    [[ -x "$BIN" ]] || { rm -rf "$DEST"; mv -T "$WORK/out" "$DEST"; }
  fi
  log "binary built in $((SECONDS - start)) s: $BIN ($(du -h "$BIN" | cut -f1))"
}

[[ -x "$BIN" ]] || build_binary
if ((BINARY_ONLY)); then
  printf '%s\n' "$BIN"
  exit 0
fi

[[ -x "$DOCKER" ]] || die "$DOCKER not found: apt-get install -y docker.io"
"$DOCKER" info >/dev/null 2>&1 || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}); run: eval \"\$(bash hack/docker-engine.sh)\""
if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE exists"
  printf '%s\n' "$IMAGE"
  exit 0
fi

mkdir -p "$CACHE_ROOT"
ctx="$(mktemp -d "$CACHE_ROOT/.traefik-image.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
trap 'exit 130' INT TERM
cp "$BIN" "$ctx/traefik"
printf '%s\n' \
  'FROM scratch' \
  'COPY traefik /traefik' \
  'USER 65532:65532' \
  'EXPOSE 8080' \
  "LABEL org.opencontainers.image.title=traefik org.opencontainers.image.version=$VERSION" \
  'ENTRYPOINT ["/traefik"]' >"$ctx/Dockerfile"
log "building image $IMAGE"
"$DOCKER" build --network=host -t "$IMAGE" "$ctx" >&2
printf '%s\n' "$IMAGE"
