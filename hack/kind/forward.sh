#!/usr/bin/env bash
# Reach the offline kind cluster's ingress from a browser on this host (after `make e2e KEEP=1`).
#
#   bash hack/kind/forward.sh [PORT]     # default 8080; Ctrl-C stops it
#
# The cluster's engine and its port mappings live in the network namespace vigil-kind
# (hack/kind/engine.sh), so 127.0.0.1:8080 on the host is not the ingress. This forwards
# the host's 127.0.0.1:PORT into that namespace's 127.0.0.1:PORT, each connection through
# `nsenter`, with socat (apt-get install socat). Only loopback, on both sides.
set -euo pipefail
PORT="${1:-8080}"
NETNS="${VIGIL_KIND_NETNS:-vigil-kind}"
command -v socat >/dev/null || { echo "forward: socat not found: apt-get install -y socat" >&2; exit 1; }
[[ -e "/run/netns/$NETNS" ]] || { echo "forward: no network namespace $NETNS: is a cluster up (make e2e KEEP=1)?" >&2; exit 1; }
echo "forward: http://vigil.localhost:$PORT/ on this host reaches the cluster's ingress (Ctrl-C stops)" >&2
exec socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" \
  "EXEC:nsenter --net=/run/netns/$NETNS socat STDIO TCP\\:127.0.0.1\\:$PORT"
