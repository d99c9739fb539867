#!/usr/bin/env bash
# Build (once) and print the directory of Kubernetes test binaries, envtest style.
#
# Why: no kube-apiserver/etcd/kind image can be downloaded on our machines, only Go
# modules. So we compile etcd, kube-apiserver, kube-controller-manager, kubectl, helm (Helm 4)
# and helm3 (Helm 3, for the chart tests that cover both majors) from the Go module proxy
# and cache them in a directory named by their versions:
#
#   ${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/k8s-assets/<k8s>-etcd<etcd>-helm<helm>-helm3<helm3>/
#
# That directory is what envtest calls KUBEBUILDER_ASSETS (a flat dir of binaries).
# Its path is the only thing printed on stdout (last line); progress goes to stderr.
#
#   export KUBEBUILDER_ASSETS="$(bash hack/k8s-assets.sh)"
#   bash hack/k8s-assets.sh --check   # print the dir if usable, else exit 1; never builds
#
# - If KUBEBUILDER_ASSETS is already set and holds etcd, kube-apiserver and kubectl, it
#   is printed and used as is (helm then comes from that dir or PATH).
# - Cached: returns at once without calling go (measured ~5 ms).
# - Cold build on 2 cores: measured 10 min 46 s wall with one helm (k8s v1.37.2, etcd v3.7.3,
#   helm v3.22.0; empty Go module and build caches; 2.6 GB peak RSS; leaves 1.3 GB in the
#   module cache and 4.4 GB in the Go build cache). With those Go caches warm, a rebuild
#   into a fresh cache dir took 27 s, so CI may cache either this dir or the Go caches.
# - The two helms alone, cold (empty Go module and build caches, 2 cores, 2026-12-04):
#   helm v4.3.2 2 min 46 s, then helm3 v3.21.4 1 min 41 s (reusing what helm 4 left in the
#   caches): 4 min 28 s together, 1.0 GB peak RSS, 0.8 GB module + 1.7 GB build cache.
#   With the Go caches warm from the Kubernetes build (they share client-go and friends),
#   helm took 103 s and helm3 62 s, and the whole rebuild into a new cache dir 177 s.
# - Atomic: binaries are built in a temp dir next to the cache and renamed into place, so
#   an interrupted build never leaves a half-filled cache.
#
# Recipe: k8s.io/kubernetes is not `go install`-able (its go.mod replaces the staging
# modules with ./staging/...). We generate a wrapper module that requires it and
# replaces every staging module (list read from its own go.mod) by the published
# k8s.io/<x> v0.Y.Z. etcd's server module does the same with ../api etc.
# Versions can be overridden (VIGIL_K8S_VERSION, VIGIL_ETCD_VERSION, VIGIL_HELM_VERSION,
# VIGIL_HELM3_VERSION)
# but the pins below are the ones that were built and tested.
set -euo pipefail

K8S_VERSION="${VIGIL_K8S_VERSION:-v1.37.2}"
# etcd minor follows the etcd client that this Kubernetes release's go.mod requires.
ETCD_VERSION="${VIGIL_ETCD_VERSION:-v3.7.3}"
# Approved Helm releases only (v3.22.0 is served by the proxy but is not one).
HELM_VERSION="${VIGIL_HELM_VERSION:-v4.3.2}"    # `helm`: Helm 4, what the project uses
HELM3_VERSION="${VIGIL_HELM3_VERSION:-v3.21.4}" # `helm3`: Helm 3, lint/template coverage
# Not a binary: the chart tests apply the Gateway API's HTTPRoute CRD from this module in the
# Go module cache (tests never download anything themselves), so a build fetches it too.
GATEWAY_API_VERSION="v1.6.3"

CHECK_ONLY=0
case "${1:-}" in
  --check) CHECK_ONLY=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

log() { printf 'k8s-assets: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

has_bins() { # dir bin...
  local dir="$1"; shift
  local b
  for b in "$@"; do [[ -x "$dir/$b" ]] || return 1; done
}

# 1. An explicit KUBEBUILDER_ASSETS wins.
if [[ -n "${KUBEBUILDER_ASSETS:-}" ]] && has_bins "$KUBEBUILDER_ASSETS" etcd kube-apiserver kubectl; then
  printf '%s\n' "$KUBEBUILDER_ASSETS"
  exit 0
fi

CACHE_ROOT="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/k8s-assets"
DEST="$CACHE_ROOT/${K8S_VERSION}-etcd${ETCD_VERSION}-helm${HELM_VERSION}-helm3${HELM3_VERSION}"
BINS=(etcd kube-apiserver kube-controller-manager kubectl helm helm3)

# 2. Cache hit: no go invocation at all.
if has_bins "$DEST" "${BINS[@]}"; then
  printf '%s\n' "$DEST"
  exit 0
fi

[[ "$CHECK_ONLY" == 1 ]] && { log "not built yet: $DEST"; exit 1; }

# 3. Cold build.
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[[ -x "$GO" ]] || die "go not found (set GO= or put go on PATH)"

mkdir -p "$CACHE_ROOT"
WORK="$(mktemp -d "$CACHE_ROOT/.build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM  # make sure the EXIT trap runs
OUT="$WORK/out"
mkdir -p "$OUT"
START=$SECONDS

export CGO_ENABLED=0
export GOFLAGS="-mod=mod -buildvcs=false"
JOBS="${VIGIL_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"

# shellcheck source=lib/gomod.sh
source "$(dirname "$0")/lib/gomod.sh"

build_kubernetes() {
  log "compiling kube-apiserver, kube-controller-manager, kubectl $K8S_VERSION (-p $JOBS; takes a while)"
  build_kubernetes_cmds "$K8S_VERSION" "$OUT" "$WORK" kube-apiserver kube-controller-manager kubectl
}

build_etcd() {
  local gomod dir
  log "downloading go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  gomod="$(gomod_of "go.etcd.io/etcd/server/v3@$ETCD_VERSION")"
  [[ -f "$gomod" ]] || die "could not download go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  dir="$WORK/etcd"
  # server/go.mod: go.etcd.io/etcd/api/v3 => ../api, etc.
  write_wrapper "$dir" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$gomod" \
    's#^[[:space:]]*\(go.etcd.io/etcd/[^ ]*\) => \.\./.*#\1#p' "$ETCD_VERSION"
  # The server module's root package is etcd's main (server/main.go).
  printf 'import _ "go.etcd.io/etcd/server/v3"\n' >>"$dir/tools.go"
  (cd "$dir" && "$GO" mod tidy -e >&2)
  log "compiling etcd"
  (cd "$dir" && "$GO" build -p "$JOBS" -trimpath -ldflags "-s -w" -o "$OUT/etcd" go.etcd.io/etcd/server/v3 >&2)
}

# `go install` works for helm (its go.mod has no replace directives). Stamp what helm's
# Makefile stamps for a release: the version and a clean tree.
build_helm() { # major version binary-name
  local major="$1" version="$2" name="$3" mod="helm.sh/helm/$1" bin="$WORK/gobin-$3" ldflags k8s_minor t=$SECONDS
  ldflags="-s -w -X $mod/internal/version.version=$version -X $mod/internal/version.gitTreeState=clean"
  if [[ "$major" == v3 ]]; then
    # Helm 3 takes the Kubernetes version it assumes for `helm template`
    # (.Capabilities.KubeVersion) from ldflags: the client-go minor it was built with.
    # Helm 4 reads that from the binary's build info itself.
    k8s_minor="$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' \
      "$(gomod_of "$mod@$version")" | head -n1)"
    [[ -n "$k8s_minor" ]] || die "could not read client-go's version from $mod@$version's go.mod"
    ldflags+=" -X $mod/pkg/lint/rules.k8sVersionMajor=1 -X $mod/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
    ldflags+=" -X $mod/pkg/chartutil.k8sVersionMajor=1 -X $mod/pkg/chartutil.k8sVersionMinor=$k8s_minor"
  fi
  log "compiling $name ($mod $version)"
  # Each into its own GOBIN: both commands are named helm.
  GOFLAGS=-buildvcs=false GOBIN="$bin" "$GO" install -p "$JOBS" -trimpath -ldflags "$ldflags" \
    "$mod/cmd/helm@$version" >&2
  mv "$bin/helm" "$OUT/$name"
  log "$name built in $((SECONDS - t)) s"
}

log "building into $DEST (cold build: ~12-16 min on 2 cores)"
log "downloading sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION (CRDs for the chart tests)"
[[ -f "$(gomod_of "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")" ]] || die "could not download sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION"
build_etcd
build_helm v4 "$HELM_VERSION" helm
build_helm v3 "$HELM3_VERSION" helm3
build_kubernetes
"$OUT/kube-apiserver" --version >&2
"$OUT/etcd" --version >&2
"$OUT/helm" version --short >&2
"$OUT/helm3" version --short >&2
has_bins "$OUT" "${BINS[@]}" || die "build finished without all of ${BINS[*]}"

# Atomic publish: rename the finished dir into place (same filesystem). A concurrent
# build that finished first wins; ours is discarded.
if ! mv -T "$OUT" "$DEST" 2>/dev/null; then
  has_bins "$DEST" "${BINS[@]}" || { rm -rf "$DEST"; mv -T "$OUT" "$DEST"; }
fi
log "done in $((SECONDS - START)) s"
printf '%s\n' "$DEST"
