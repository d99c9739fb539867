#!/usr/bin/env bash
# Build (once) metrics-server from the Go module proxy into an image, and print its name;
# `--manifests DIR` instead writes a kustomization that runs it on the offline kind cluster.
#
#   img="$(bash hack/kind/metrics-server.sh)"             # DOCKER/DOCKER_HOST: the engine to build in
#   bash hack/kind/metrics-server.sh --manifests DIR IMG  # then: kubectl apply -k DIR
#
# Why: the HorizontalPodAutoscaler scenario (make e2e-full) needs the resource metrics API,
# and metrics-server's image cannot be pulled here. sigs.k8s.io/metrics-server v0.8.0 has no
# replace directives, so `go install` builds it; its own kustomize base (manifests/base in
# the module) deploys it, with two changes for kind: the image, and --kubelet-insecure-tls
# (kubelet's serving certificate in kind is self-signed, as kind's own docs note).
# Cached by version in ${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/kind/metrics-server-<version>/.
set -euo pipefail
VERSION="${VIGIL_METRICS_SERVER_VERSION:-v0.8.0}"
MODULE=sigs.k8s.io/metrics-server
IMAGE="vigil-e2e/metrics-server:$VERSION"
DEST="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/kind/metrics-server-$VERSION"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
DOCKER="${DOCKER:-/usr/bin/docker}"
log() { printf 'metrics-server: %s\n' "$*" >&2; }
# shellcheck source=../lib/gomod.sh
source "$(dirname "$0")/../lib/gomod.sh"  # module_field

if [[ "${1:-}" == --manifests ]]; then
  out="$2" image="$3"
  mkdir -p "$out"
  cp -r "$(module_field "$MODULE@$VERSION" Dir)/manifests/base" "$out/base"; chmod -R u+w "$out/base"
  cat >"$out/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [base]
images:
  - name: gcr.io/k8s-staging-metrics-server/metrics-server
    newName: ${image%:*}
    newTag: ${image##*:}
patches:
  - target: {kind: Deployment, name: metrics-server}
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --kubelet-insecure-tls
      - op: add
        path: /spec/template/spec/containers/0/imagePullPolicy
        value: IfNotPresent
YAML
  exit 0
fi

if [[ ! -x "$DEST/metrics-server" ]]; then
  started=$SECONDS
  work="$(mktemp -d "${DEST%/*}/.metrics-server.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  log "go install $MODULE/cmd/metrics-server@$VERSION"
  GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN="$work" "$GO" install -p "${VIGIL_BUILD_JOBS:-2}" -trimpath \
    -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$VERSION" "$MODULE/cmd/metrics-server@$VERSION" >&2
  mv -T "$work" "$DEST" 2>/dev/null || true; trap - EXIT
  log "built in $((SECONDS - started)) s"
fi
if ! "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' EXIT
  cp "$DEST/metrics-server" "$ctx/"
  printf 'FROM scratch\nCOPY metrics-server /metrics-server\nUSER 65534:65534\nENTRYPOINT ["/metrics-server"]\n' >"$ctx/Dockerfile"
  "$DOCKER" build -q -t "$IMAGE" "$ctx" >/dev/null
fi
printf '%s\n' "$IMAGE"
