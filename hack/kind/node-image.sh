#!/usr/bin/env bash
# Assemble (once) a kind node image offline, and print its name.
#
#   eval "$(bash hack/kind/engine.sh)"      # the engine kind uses (own network namespace)
#   bash hack/kind/node-image.sh            # prints e.g. vigil-kind/node:v1.37.2-3f9c0a1b
#
# Why not `kind build node-image`: it pulls etcd, coredns, pause, kindnetd and
# local-path-provisioner from registries, and our machines reach none. This script does what
# kind's base image Dockerfile and its node-image build do, from parts that are at hand:
# 1. a Debian rootfs by debootstrap, with systemd, iptables, conntrack, runc and the CNI
#    plugins from Debian's packages, plus kind's own node files (images/base/files in the
#    kind module: entrypoint, systemd units, containerd config);
# 2. the binaries of hack/kind/assets.sh: containerd, crictl, kubelet, kubeadm, kubectl;
# 3. images for everything kubeadm starts (`kubeadm config images list`): kube-apiserver,
#    kube-controller-manager, kube-scheduler, etcd, coredns and pause from scratch around
#    one static binary each; kube-proxy on the Debian rootfs, since it needs iptables. They
#    are imported into the node's containerd store (/var/lib/containerd) with a containerd
#    run for that on the host (its own socket and state, nothing else), as kind does with
#    `ctr images import --no-unpack` in its build container;
# 4. in place of kindnetd (not served by the module proxy): a bridge + host-local CNI config
#    for the one node (the cluster config sets disableDefaultCNI); storage: a default
#    StorageClass `standard` for hostPath volumes that hack/e2e.sh provides;
# 5. settings this VM needs: containerd's restrict_oom_score_adj (a negative oom_score_adj
#    needs CAP_SYS_RESOURCE, which the VM lacks), and the pause image name kubeadm expects.
#
# The image name carries a hash of the inputs (this script, the assets dir, the CNI and
# storage files), so a change rebuilds it; an existing image returns at once. The rootfs
# from debootstrap is cached in ${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/kind/rootfs-<suite>.
# Needs root, debootstrap, and DOCKER/DOCKER_HOST from hack/kind/engine.sh.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
SUITE="${VIGIL_DEBIAN_SUITE:-bookworm}"
CACHE="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/kind"
DOCKER="${DOCKER:-/usr/bin/docker}"
PACKAGES="systemd,systemd-sysv,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,e2fsprogs,bash,ca-certificates,curl,jq,procps,runc,containernetworking-plugins"

log() { printf 'node-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ASSETS="$(bash "$HERE/assets.sh")"
"$DOCKER" info >/dev/null 2>&1 || die "no Docker engine answers: eval \"\$(bash hack/kind/engine.sh)\""
K8S_VERSION="$("$ASSETS/kubelet" --version | awk '{print $2}')"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
# shellcheck source=../lib/gomod.sh
source "$HERE/../lib/gomod.sh"  # module_field
KIND_FILES="$(module_field "sigs.k8s.io/kind@$("$ASSETS/kind" version | awk '{print $2}')" Dir)/images/base/files"
[[ -d "$KIND_FILES" ]] || die "kind's node files not found ($KIND_FILES)"

inputs_hash="$( { cat "$0" "$HERE/node/"* "$HERE/runc-fit-caps"; echo "$ASSETS $PACKAGES"; } | sha256sum | cut -c1-10)"
IMAGE="${KIND_NODE_IMAGE_NAME:-vigil-kind/node:$K8S_VERSION-$inputs_hash}"
if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE exists"; printf '%s\n' "$IMAGE"; exit 0
fi
START=$SECONDS

# 1. The Debian rootfs (cached: debootstrap takes about a minute).
base="$CACHE/rootfs-$SUITE"
if [[ ! -e "$base/.vigil-complete" ]]; then
  command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install -y debootstrap"
  mirror="$(bash "$HERE/../base-image.sh" --print-mirror)"
  tmp="$(mktemp -d "$CACHE/.rootfs.XXXXXX")"
  trap 'umount -l "$tmp/proc" "$tmp/sys" 2>/dev/null || true; rm -rf "$tmp"' EXIT
  log "debootstrap $SUITE with systemd into $tmp"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$tmp" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
  chmod 0755 "$tmp"; touch "$tmp/.vigil-complete"
  rm -rf "$base"; mv "$tmp" "$base"; trap - EXIT
fi

work="$(mktemp -d "$CACHE/.node.XXXXXX")"
ctr_pid=""
cleanup() {
  [[ -n "$ctr_pid" ]] && kill "$ctr_pid" 2>/dev/null && wait "$ctr_pid" 2>/dev/null
  umount -l "$work/rootfs/proc" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
root="$work/rootfs"
log "copying the rootfs"
cp -a "$base" "$root"; rm -f "$root/.vigil-complete"

# kind's base image steps (images/base/Dockerfile), in the rootfs instead of a container.
install -m 0755 "$KIND_FILES"/usr/local/bin/* "$root/usr/local/bin/"
mkdir -p "$root/kind/bin" "$root/kind/manifests" "$root/etc/kubernetes/manifests" "$root/opt/cni"
cp -r "$KIND_FILES/kind/." "$root/kind/"; chmod 0755 "$root/kind" "$root/kind/bin" "$root"/kind/bin/*
for d in etc etc/containerd etc/default etc/sysctl.d etc/systemd/system etc/systemd/system/kubelet.service.d; do
  mkdir -p "$root/$d"; find "$KIND_FILES/$d" -maxdepth 1 -type f -exec install -m 0644 {} "$root/$d/" \;
done
find "$root/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
rm -f "$root"/lib/systemd/system/multi-user.target.wants/* "$root"/etc/systemd/system/*.wants/* \
  "$root"/lib/systemd/system/local-fs.target.wants/* "$root"/lib/systemd/system/sockets.target.wants/*udev* \
  "$root"/lib/systemd/system/sockets.target.wants/*initctl* "$root"/lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >>"$root/etc/systemd/journald.conf"
ln -sf /usr/lib/systemd/systemd "$root/sbin/init"
chroot "$root" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
chroot "$root" systemctl mask systemd-binfmt.service >/dev/null 2>&1

# 2. Binaries. Debian's runc is on PATH; its CNI plugins live in /usr/lib/cni.
install -m 0755 "$ASSETS"/{containerd,containerd-shim-runc-v2,ctr,crictl} "$root/usr/local/bin/"
install -m 0755 "$ASSETS"/{kubelet,kubeadm,kubectl} "$root/usr/bin/"
ln -sfn /usr/lib/cni "$root/opt/cni/bin"
printf '%s' "$K8S_VERSION" >"$root/kind/version"
"$ASSETS/ctr" oci spec | python3 -c '
import json, sys
spec = json.load(sys.stdin)
spec.setdefault("hooks", {}).setdefault("createContainer", []).append({"path": "/kind/bin/mount-product-files.sh"})
spec["process"].pop("rlimits", None)
json.dump(spec, sys.stdout, indent=2)' >"$root/etc/containerd/cri-base.json"

# 3. Images, named as kubeadm expects them.
mapfile -t wanted < <("$ASSETS/kubeadm" config images list --kubernetes-version "$K8S_VERSION" 2>/dev/null)
pause_image="$(printf '%s\n' "${wanted[@]}" | grep /pause:)"
sed -i -e "s#sandbox_image = .*#sandbox_image = \"$pause_image\"#" \
  -e 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$root/etc/containerd/config.toml"
install -m 0644 "$HERE/node/10-bridge.conflist" "$root/etc/cni/net.d/10-bridge.conflist" 2>/dev/null \
  || { mkdir -p "$root/etc/cni/net.d"; install -m 0644 "$HERE/node/10-bridge.conflist" "$root/etc/cni/net.d/"; }
install -m 0644 "$HERE/node/default-storage.yaml" "$root/kind/manifests/default-storage.yaml"
# The directories of hack/kind/storage.yaml's volumes: hostPath ignores fsGroup, so they are
# world-writable, as local-path-provisioner makes its own.
mkdir -p "$root"/var/local-pv/pv-{1..4}; chmod 0777 "$root"/var/local-pv/pv-{1..4}

log "node base image for kube-proxy"
node_base="vigil-kind/node-base:$SUITE-$inputs_hash"
tar --numeric-owner -C "$base" --exclude=./.vigil-complete -c . | "$DOCKER" import - "$node_base" >/dev/null
ctx="$work/ctx"; mkdir -p "$ctx"
tars=()
for image in "${wanted[@]}"; do
  name="${image##*/}"; name="${name%%:*}"
  case "$name" in
    kube-apiserver|kube-controller-manager|kube-scheduler|etcd|coredns) bin="$name"; from=scratch ;;
    kube-proxy) bin=kube-proxy; from="$node_base" ;;
    pause) bin=pause; from=scratch ;;
    *) die "kubeadm wants an image this script cannot make: $image" ;;
  esac
  cp "$ASSETS/$bin" "$ctx/$bin"
  entry="/usr/local/bin/$bin"; [[ "$bin" == pause ]] && entry="/pause"
  printf 'FROM %s\nCOPY %s %s\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nENTRYPOINT ["%s"]\n' \
    "$from" "$bin" "$entry" "$entry" >"$ctx/Dockerfile"
  log "image $image"
  "$DOCKER" build -q -t "$image" "$ctx" >/dev/null
  rm -f "$ctx/$bin"
  "$DOCKER" save "$image" -o "$work/$name.tar"
  tars+=("$work/$name.tar")
done

log "importing ${#tars[@]} images into the node's containerd store"
cat >"$work/containerd.toml" <<TOML
version = 3
root = "$root/var/lib/containerd"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images"]
[grpc]
  address = "$work/containerd.sock"
TOML
"$ASSETS/containerd" --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
ctr_pid=$!
for _ in $(seq 50); do [[ -S "$work/containerd.sock" ]] && break; sleep 0.2; done
for t in "${tars[@]}"; do
  "$ASSETS/ctr" --address "$work/containerd.sock" -n k8s.io images import --no-unpack \
    --snapshotter=overlayfs "$t" >&2
done
kill "$ctr_pid"; wait "$ctr_pid" 2>/dev/null || true; ctr_pid=""
rm -rf "$root/var/lib/containerd/tmpmounts" "$root/var/lib/containerd/io.containerd.runtime.v2.task"

log "importing the node image $IMAGE"
tar --numeric-owner -C "$root" -c . | "$DOCKER" import \
  -c 'ENV container=docker' -c 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' - "$IMAGE.tmp" >/dev/null
printf 'FROM %s\nSTOPSIGNAL SIGRTMIN+3\n' "$IMAGE.tmp" | "$DOCKER" build -q -t "$IMAGE" - >/dev/null
"$DOCKER" rmi "$IMAGE.tmp" >/dev/null
log "built $IMAGE in $((SECONDS - START)) s"
printf '%s\n' "$IMAGE"
