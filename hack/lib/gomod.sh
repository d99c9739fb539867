# Shared by hack/k8s-assets.sh and hack/kind/assets.sh (source it; it defines functions only).
#
# Why a wrapper module: k8s.io/kubernetes and etcd's server are not `go install`-able, because
# their go.mod replace the staging modules with ./staging/... (or ../api). A wrapper module
# that requires the module and replaces each of those by its published version builds them
# from the Go module proxy alone. Needs GO (the go command).

# Print field $2 ("GoMod", "Dir", "Info") of `go mod download -json $1` (module@version;
# downloads it into the module cache).
module_field() {
  GOFLAGS= "$GO" mod download -json "$1" \
    | sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p"
}

# Print the GoMod path of module@version.
gomod_of() { module_field "$1" GoMod; }

# Print the `go` directive of a go.mod file.
go_directive() { sed -n 's/^go \([0-9.]*\).*/\1/p' "$1" | head -n1; }

# Write a wrapper module in $1 requiring $2@$3; replace each module matched in
# upstream go.mod $4 by sed expression $5 (which prints module paths) with version $6.
write_wrapper() {
  local dir="$1" mod="$2" ver="$3" upstream="$4" expr="$5" repl_ver="$6" m
  mkdir -p "$dir"
  {
    echo "module vigil.local/k8s-assets/$(basename "$dir")"
    echo
    echo "go $(go_directive "$upstream")"
    echo
    echo "require $mod $ver"
    echo
    echo "replace ("
    for m in $(sed -n "$expr" "$upstream"); do
      echo "	$m => $m $repl_ver"
    done
    echo ")"
  } >"$dir/go.mod"
  # A build-tagged file that imports the commands keeps `go mod tidy` honest.
  printf '//go:build tools\n\npackage tools\n' >"$dir/tools.go"
}

# Build commands of k8s.io/kubernetes@$1 into dir $2: `build_kubernetes_cmds VERSION OUT WORK cmd...`
# (cmd names under k8s.io/kubernetes/cmd/), stamped with the version like a release build.
build_kubernetes_cmds() {
  local version="$1" out="$2" work="$3"; shift 3
  local gomod dir ldflags date pkg minor staging cmd pkgs=()
  [[ "$version" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || { echo "bad Kubernetes version $version" >&2; return 1; }
  minor="${BASH_REMATCH[1]}"
  staging="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
  gomod="$(gomod_of "k8s.io/kubernetes@$version")"
  [[ -f "$gomod" ]] || { echo "could not download k8s.io/kubernetes@$version" >&2; return 1; }
  dir="$work/kubernetes"
  write_wrapper "$dir" k8s.io/kubernetes "$version" "$gomod" \
    's#^[[:space:]]*\(k8s.io/[^ ]*\) => \./staging/.*#\1#p' "$staging"
  for cmd in "$@"; do
    printf 'import _ "k8s.io/kubernetes/cmd/%s"\n' "$cmd" >>"$dir/tools.go"
    pkgs+=("k8s.io/kubernetes/cmd/$cmd")
  done
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" "$GO" mod tidy -e >&2)
  (cd "$dir" && CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" "$GO" build -p "${JOBS:-2}" -trimpath \
    -tags selinux,notest -ldflags "$ldflags" -o "$out/" "${pkgs[@]}" >&2)
}
