#!/usr/bin/env bash
# Print `export KUBEBUILDER_ASSETS=...` for the Kubernetes test binaries (built once by
# hack/k8s-assets.sh, ~15 min cold, instant when cached). Use:
#   eval "$(bash hack/k8s-env.sh)"
set -euo pipefail
assets="$(bash "$(dirname "${BASH_SOURCE[0]}")/k8s-assets.sh" "$@" | tail -n1)"
printf 'export KUBEBUILDER_ASSETS=%q\n' "$assets"
