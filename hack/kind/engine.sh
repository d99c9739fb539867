#!/usr/bin/env bash
# The Docker engine that runs kind's node containers: hack/docker-engine.sh in a network
# namespace of its own (see VIGIL_DOCKER_NETNS there), with its own data under
# ${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/kind/docker. Same commands:
#
#   eval "$(bash hack/kind/engine.sh)"     # start or reuse; prints DOCKER, DOCKER_HOST, ...
#   bash hack/kind/engine.sh stop          # stop it and delete its network namespace
#
# Every process that talks to the cluster (kubectl, helm, the e2e tests, Chromium) runs in
# that namespace: `nsenter --net=/run/netns/$VIGIL_KIND_NETNS CMD`, which hack/e2e.sh does.
set -euo pipefail
export VIGIL_DOCKER_DIR="${VIGIL_KIND_DOCKER_DIR:-${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}/kind/docker}"
export VIGIL_DOCKER_NETNS="${VIGIL_KIND_NETNS:-vigil-kind}"
exec bash "$(dirname "$0")/../docker-engine.sh" "$@"
