#!/usr/bin/env bash
# Save and restore the host settings a kind cluster can change, so a test run leaves the
# host as it found it (also after a failure: hack/e2e.sh calls `restore` from its trap).
#
#   bash hack/kind/host-state.sh save FILE      # snapshot
#   bash hack/kind/host-state.sh restore FILE   # put back every value that changed since
#
# What changes, and why: a privileged kind node shares the host's kernel, and kubelet and
# kube-proxy in it write non-namespaced sysctls (kubelet: vm.overcommit_memory,
# vm.panic_on_oom, kernel.panic, kernel.panic_on_oops, kernel.keys.root_max*; kube-proxy:
# net.netfilter.nf_conntrack_*). Everything under kernel., vm., fs. and net.netfilter. is
# saved, from the host's own network namespace, and each value that differs is written back.
# The cluster's network lives in a namespace of its own (hack/kind/engine.sh), and its mounts
# go with its dockerd; the kernel modules a node loads (overlay, br_netfilter, nf_conntrack)
# stay loaded, as unloading them could break the host's own use of them.
set -euo pipefail
cmd="${1:-}"; file="${2:-}"
[[ -n "$file" ]] || { echo "usage: $0 save|restore FILE" >&2; exit 2; }
snapshot() { sysctl -a 2>/dev/null | grep -E '^(kernel|vm|fs|net\.netfilter)\.' | grep -vE '^(kernel\.core_modes|kernel\.random|fs\.(dentry|inode|file-nr|quota)|kernel\.ns_last_pid|kernel\.pty\.nr|kernel\.tainted)' || true; }
case "$cmd" in
  save) snapshot >"$file" ;;
  restore)
    [[ -s "$file" ]] || exit 0
    declare -A saved=()
    while IFS= read -r line; do saved["${line%% = *}"]="${line#* = }"; done <"$file"
    changed=0
    while IFS= read -r line; do
      key="${line%% = *}"; value="${line#* = }"
      [[ -v "saved[$key]" && "${saved[$key]}" != "$value" ]] || continue
      if sysctl -q -w "$key=${saved[$key]}" 2>/dev/null; then
        printf 'host-state: restored %s = %s (was %s)\n' "$key" "${saved[$key]}" "$value" >&2
        changed=$((changed + 1))
      fi
    done < <(snapshot)
    printf 'host-state: %d setting(s) restored\n' "$changed" >&2 ;;
  *) echo "usage: $0 save|restore FILE" >&2; exit 2 ;;
esac
