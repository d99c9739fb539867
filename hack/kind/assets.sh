#!/usr/bin/env bash
# Build (once) and print the directory of binaries a kind node needs, from the Go module
# proxy alone: the offline way to a real cluster (see hack/kind/node-image.sh).
#
#   dir="$(bash hack/kind/assets.sh)"          # builds when missing; prints the dir (last line)
#   bash hack/kind/assets.sh --check           # print the dir when complete, else exit 1
#
# What, and why each comes from where:
# - kind: `go install sigs.k8s.io/kind`; its module also carries the node image's files
#   (images/base/files), which hack/kind/node-image.sh copies.
# - kubelet, kubeadm, kube-proxy, kube-scheduler: k8s.io/kubernetes through the same wrapper
#   module as hack/k8s-assets.sh (hack/lib/gomod.sh); kube-apiserver, kube-controller-manager,
#   kubectl and etcd are copied from hack/k8s-assets.sh's directory (one build of each). helm
#   is not copied: it runs on the host, not in the node (take it from hack/k8s-assets.sh).
# - containerd, containerd-shim-runc-v2, ctr, crictl, coredns: `go install` (their go.mod
#   have no replace directives). CGO off: static binaries that run in any image.
# - pause: Kubernetes' own build/pause/linux/pause.c, compiled static with the host's gcc.
# - runc and the CNI plugins are Debian's packages inside the node (hack/kind/node-image.sh).
#
# Cached in ${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/kind/assets-<versions>-<k8s-assets dir>/:
# the name ends with the basename of hack/k8s-assets.sh's directory (which names its k8s, etcd
# and helm versions), so a change there rebuilds this too. A cache hit makes no go call, and
# --check never builds (not even hack/k8s-assets.sh: it asks that with --check as well). Built in a temp dir renamed into place, so an interrupted build leaves nothing.
# Measured cold on 2 cores with hack/k8s-assets.sh's Go caches warm: see the README's CI table.
set -euo pipefail

K8S_VERSION="${VIGIL_K8S_VERSION:-v1.37.2}"
KIND_VERSION="${VIGIL_KIND_VERSION:-v0.33.0}"
CONTAINERD_VERSION="${VIGIL_CONTAINERD_VERSION:-v2.4.2}"
CRICTL_VERSION="${VIGIL_CRICTL_VERSION:-v1.37.0}"
COREDNS_VERSION="${VIGIL_COREDNS_VERSION:-v1.14.6}"  # the version kubeadm v1.37 names

HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE_ROOT="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/kind"
BINS=(kind kubelet kubeadm kube-proxy kube-scheduler kube-apiserver kube-controller-manager kubectl
      etcd containerd containerd-shim-runc-v2 ctr crictl coredns pause)

log() { printf 'kind-assets: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
complete() { local b; for b in "${BINS[@]}"; do [[ -x "$1/$b" ]] || return 1; done; }

if [[ "${1:-}" == --check ]]; then
  k8s_dir="$(bash "$HERE/../k8s-assets.sh" --check)" || { log "not built yet: hack/k8s-assets.sh's binaries"; exit 1; }
else
  k8s_dir="$(bash "$HERE/../k8s-assets.sh")"
fi
DEST="$CACHE_ROOT/assets-${K8S_VERSION}-kind${KIND_VERSION}-containerd${CONTAINERD_VERSION}-crictl${CRICTL_VERSION}-coredns${COREDNS_VERSION}-$(basename "$k8s_dir")"

if complete "$DEST"; then printf '%s\n' "$DEST"; exit 0; fi
[[ "${1:-}" == --check ]] && { log "not built yet: $DEST"; exit 1; }

GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[[ -x "$GO" ]] || die "go not found (set GO= or put go on PATH)"
command -v gcc >/dev/null || die "gcc not found (it compiles pause): apt-get install -y gcc libc6-dev"
# shellcheck source=../lib/gomod.sh
source "$HERE/../lib/gomod.sh"
JOBS="${VIGIL_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"

mkdir -p "$CACHE_ROOT"
WORK="$(mktemp -d "$CACHE_ROOT/.build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
OUT="$WORK/out"
mkdir -p "$OUT"
START=$SECONDS

go_install() { # module/cmd@version [ldflags]
  log "go install $1"
  GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN="$OUT" "$GO" install -p "$JOBS" -trimpath \
    -tags "no_btrfs no_devmapper no_zfs no_aufs" -ldflags "-s -w ${2:-}" "$1" >&2
}

for b in kube-apiserver kube-controller-manager kubectl etcd; do cp "$k8s_dir/$b" "$OUT/"; done

go_install "sigs.k8s.io/kind@$KIND_VERSION"
go_install "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
  "-X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
go_install "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
go_install "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION" \
  "-X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
go_install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
go_install "github.com/coredns/coredns@$COREDNS_VERSION"

log "compiling kubelet, kubeadm, kube-proxy, kube-scheduler $K8S_VERSION"
build_kubernetes_cmds "$K8S_VERSION" "$OUT" "$WORK" kubelet kubeadm kube-proxy kube-scheduler

k8s_src="$(module_field "k8s.io/kubernetes@$K8S_VERSION" Dir)"
gcc -Os -static -DVERSION="v3.10-vigil" -o "$OUT/pause" "$k8s_src/build/pause/linux/pause.c"

complete "$OUT" || die "build finished without all of ${BINS[*]}"
"$OUT/kubelet" --version >&2
if ! mv -T "$OUT" "$DEST" 2>/dev/null; then
  complete "$DEST" || { rm -rf "$DEST"; mv -T "$OUT" "$DEST"; }
fi
log "done in $((SECONDS - START)) s"
printf '%s\n' "$DEST"
