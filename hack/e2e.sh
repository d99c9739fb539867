#!/usr/bin/env bash
# Vigil on a real cluster, top to bottom (podinfo style: read it as the recipe).
#
#   make e2e                 # or: bash hack/e2e.sh
#   make e2e KEEP=1          # leave the cluster up and say how to reach it
#   make e2e-full            # also scenario 8: metrics-server and the HPA (E2E_FULL=1)
#
# 1. a kind cluster: offline (our machines) from a node image assembled by
#    hack/kind/node-image.sh, in a Docker engine with a network namespace of its own
#    (hack/kind/engine.sh); or, with KIND_NODE_IMAGE set (kindest/node:v1.37.2 on a laptop
#    that can pull), from that image with the Docker engine at hand;
# 2. Vigil's image (make image), the in-cluster MariaDB and Redis images and the Traefik
#    ingress controller, built here when offline, loaded with `kind load image-archive`;
# 3. `helm install` with hack/kind/values.yaml into a namespace that enforces the
#    restricted Pod Security level, wait, `helm test`;
# 4. the e2e suite (tests/e2e: pytest, headless Chromium through the ingress);
# 5. delete the cluster, stop what this script started and restore host settings, also on
#    failure or Ctrl-C (unless KEEP=1).
#
# Knobs: KEEP=1; E2E_TESTS (test files to run, default tests/e2e); E2E_FULL=1;
# KIND_NODE_IMAGE (use this node image, and public images for MariaDB, Redis
# and Traefik); PYTEST_ARGS (passed to the e2e suite); VIGIL_E2E_PORT is fixed by
# hack/kind/cluster.yaml (8080).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
KEEP="${KEEP:-0}"
FULL="${E2E_FULL:-0}"
CLUSTER="${VIGIL_E2E_CLUSTER:-vigil-e2e}"
NAMESPACE="${VIGIL_E2E_NAMESPACE:-vigil}"
RELEASE=vigil
PORT=8080
STATE="${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/kind/run-$CLUSTER"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
export PATH="$PATH:/usr/local/go/bin"
step() { printf '\n=== e2e: %s (%ss)\n' "$*" "$SECONDS" >&2; }
mkdir -p "$STATE"
export KUBECONFIG="$STATE/kubeconfig"
# What this run measured, as JSON (read by `python -m bench e2e`; the tests add theirs).
FIGURES="${VIGIL_E2E_FIGURES:-$STATE/figures.json}"
echo '{}' >"$FIGURES"
figure() { # name json-value
  python3 -c 'import json, sys; p = sys.argv[1]; d = json.load(open(p)); d[sys.argv[2]] = json.loads(sys.argv[3]); json.dump(d, open(p, "w"), indent=2, sort_keys=True)' \
    "$FIGURES" "$1" "$2"
}

step "tools (hack/kind/assets.sh)"
bash hack/kind/assets.sh --check >/dev/null 2>&1 && figure tools_cached true || figure tools_cached false
ASSETS="$(bash hack/kind/assets.sh)"
KIND="$ASSETS/kind" KUBECTL="$ASSETS/kubectl" HELM="$(bash hack/k8s-assets.sh)/helm"

# Image engine: builds need the host's network (PyPI, Debian's mirror). Stopped at the end
# unless it was running before (a developer's warm engine stays up).
bash hack/docker-engine.sh status >/dev/null 2>&1 && IMAGE_ENGINE_WAS_UP=1 || IMAGE_ENGINE_WAS_UP=0
eval "$(bash hack/docker-engine.sh)"
BUILD_DOCKER_HOST="$DOCKER_HOST"

if [[ -n "${KIND_NODE_IMAGE:-}" ]]; then
  OFFLINE=0
  in_cluster_net() { "$@"; }
  CLUSTER_DOCKER_HOST="${VIGIL_E2E_DOCKER_HOST:-unix:///var/run/docker.sock}"
else
  OFFLINE=1
  # The cluster's engine lives in its own network namespace; so do kind's port mappings,
  # so every client of the cluster runs there too.
  eval "$(bash hack/kind/engine.sh)"
  CLUSTER_DOCKER_HOST="$DOCKER_HOST"
  NETNS="${VIGIL_KIND_NETNS:-vigil-kind}"
  in_cluster_net() { nsenter --net="/run/netns/$NETNS" "$@"; }
fi
cluster() { DOCKER_HOST="$CLUSTER_DOCKER_HOST" in_cluster_net "$@"; }

teardown() {
  local status=$?
  trap - EXIT INT TERM
  if [[ "$KEEP" == 1 ]]; then
    cat >&2 <<HOW

The cluster $CLUSTER is up (KEEP=1). Vigil answers through the ingress on 127.0.0.1:$PORT
$( ((OFFLINE)) && echo "inside network namespace $NETNS:" )
  $( ((OFFLINE)) && printf 'sudo nsenter --net=/run/netns/%s ' "$NETNS")env KUBECONFIG=$KUBECONFIG $KUBECTL -n $NAMESPACE get pods
  $( ((OFFLINE)) && printf 'sudo nsenter --net=/run/netns/%s ' "$NETNS")curl -H 'Host: vigil.localhost' http://127.0.0.1:$PORT/healthz
In a browser on this host: $( ((OFFLINE)) && printf 'bash hack/kind/forward.sh %s, then ' "$PORT")open http://vigil.localhost:$PORT/
Admin password: $KUBECTL -n $NAMESPACE get secret $RELEASE -o jsonpath='{.data.VIGIL_ADMIN_PASSWORD}' | base64 -d
Remove it all: bash hack/e2e.sh down
HOW
    exit "$status"
  fi
  step "teardown"
  cluster "$KIND" delete cluster --name "$CLUSTER" >&2 || true
  ((OFFLINE)) && bash hack/kind/engine.sh stop || true
  ((IMAGE_ENGINE_WAS_UP)) || bash hack/docker-engine.sh stop >&2 || true
  # The snapshot is kept until a teardown restored it: a run that was killed leaves it for
  # the next one, whose teardown then restores the host as it was before either.
  bash hack/kind/host-state.sh restore "$STATE/host-sysctls" && rm -f "$STATE/host-sysctls"
  exit "$status"
}

if [[ "${1:-}" == down ]]; then
  set +e; (exit 0); KEEP=0; IMAGE_ENGINE_WAS_UP=0; teardown
fi
trap teardown EXIT
trap 'exit 130' INT TERM
[[ -s "$STATE/host-sysctls" ]] || bash hack/kind/host-state.sh save "$STATE/host-sysctls"

step "node image"
if ((OFFLINE)); then
  node_started=$SECONDS
  NODE_IMAGE="$(bash hack/kind/node-image.sh)"
  figure node_image_s "$((SECONDS - node_started))"
  echo "offline node image: $NODE_IMAGE (hack/kind/node-image.sh)" >&2
else
  NODE_IMAGE="$KIND_NODE_IMAGE"
fi

step "images: Vigil, MariaDB, Redis, Traefik"
TAG="e2e-$(git rev-parse --short HEAD 2>/dev/null || echo dev)"
DOCKER_HOST="$BUILD_DOCKER_HOST" make -s image IMAGE="vigil:$TAG" >&2
# The rolling-upgrade scenario moves the release to a second tag of the same image.
DOCKER_HOST="$BUILD_DOCKER_HOST" "$DOCKER" tag "vigil:$TAG" "vigil:$TAG-next"
images=("vigil:$TAG" "vigil:$TAG-next")
if ((OFFLINE)); then
  mapfile -t service_images < <(DOCKER_HOST="$BUILD_DOCKER_HOST" bash hack/kind/service-images.sh)
  TRAEFIK_IMAGE="$(DOCKER_HOST="$BUILD_DOCKER_HOST" bash hack/kind/traefik.sh)"
  images+=("${service_images[@]}" "$TRAEFIK_IMAGE")
  if ((FULL)); then
    METRICS_IMAGE="$(DOCKER_HOST="$BUILD_DOCKER_HOST" bash hack/kind/metrics-server.sh)"
    images+=("$METRICS_IMAGE")
  fi
  VALUES_OFFLINE=(-f hack/kind/values-offline.yaml)
else
  TRAEFIK_IMAGE="${VIGIL_E2E_TRAEFIK_IMAGE:-docker.io/traefik:v3.7}"
  VALUES_OFFLINE=()
fi

step "cluster $CLUSTER from $NODE_IMAGE"
cluster "$KIND" delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
create_started=$SECONDS
cluster "$KIND" create cluster --name "$CLUSTER" --image "$NODE_IMAGE" --config hack/kind/cluster.yaml \
  --kubeconfig "$KUBECONFIG" --wait 120s >&2
figure cluster_create_s "$((SECONDS - create_started))"
step "load images"
DOCKER_HOST="$BUILD_DOCKER_HOST" "$DOCKER" save "${images[@]}" -o "$STATE/images.tar"
cluster "$KIND" load image-archive --name "$CLUSTER" "$STATE/images.tar" >&2
rm -f "$STATE/images.tar"
((OFFLINE)) && cluster "$KUBECTL" apply -f hack/kind/storage.yaml >&2

step "ingress controller (Traefik)"
sed "s#TRAEFIK_IMAGE#$TRAEFIK_IMAGE#" hack/kind/traefik.yaml | cluster "$KUBECTL" apply -f - >&2
cluster "$KUBECTL" -n traefik rollout status deploy/traefik --timeout=180s >&2

if ((FULL)); then
  step "metrics-server (for the HPA scenario)"
  bash hack/kind/metrics-server.sh --manifests "$STATE/metrics-server" "${METRICS_IMAGE:-registry.k8s.io/metrics-server/metrics-server:v0.8.0}"
  cluster "$KUBECTL" apply -k "$STATE/metrics-server" >&2
fi

step "helm install"
cluster "$KUBECTL" create namespace "$NAMESPACE" >&2
cluster "$KUBECTL" label namespace "$NAMESPACE" pod-security.kubernetes.io/enforce=restricted >&2
cluster "$HELM" install "$RELEASE" charts/vigil -n "$NAMESPACE" -f hack/kind/values.yaml "${VALUES_OFFLINE[@]}" \
  --set image.tag="$TAG" --wait --wait-for-jobs --timeout 10m >&2
ui_answers() {
  cluster "$PYTHON" -c 'import sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Host": "vigil.localhost"})
sys.exit(0 if urllib.request.urlopen(request, timeout=5).status == 200 else 1)' "http://127.0.0.1:$PORT/healthz" 2>/dev/null
}
for _ in $(seq 60); do ui_answers && break; sleep 2; done
ui_answers || { echo "e2e: the UI does not answer through the ingress" >&2; exit 1; }
figure to_ui_s "$SECONDS"
step "helm test"
cluster "$HELM" test "$RELEASE" -n "$NAMESPACE" --logs >&2

step "e2e suite"
cluster env VIGIL_E2E_FIGURES="$FIGURES" VIGIL_E2E_KUBECONFIG="$KUBECONFIG" VIGIL_E2E_NAMESPACE="$NAMESPACE" VIGIL_E2E_RELEASE="$RELEASE" \
  VIGIL_E2E_URL="http://127.0.0.1:$PORT" VIGIL_E2E_HOST=vigil.localhost VIGIL_E2E_TAG="$TAG" \
  VIGIL_E2E_KUBECTL="$KUBECTL" VIGIL_E2E_HELM="$HELM" VIGIL_E2E_VALUES="hack/kind/values.yaml ${VALUES_OFFLINE[*]:1}" \
  "$PYTHON" -m pytest ${E2E_TESTS:-tests/e2e} -m "$( ((FULL)) && echo 'full or not full' || echo 'not full')" ${PYTEST_ARGS:-}
step "done"
cat "$FIGURES" >&2
