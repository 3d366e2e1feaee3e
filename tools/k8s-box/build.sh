#!/usr/bin/env bash
# Builds the local control plane's programs (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, kwok) from the Go module
# proxy and prints the directory that holds them.
#
# The output lives outside the work tree, in a directory named by a hash of
# this folder's inputs, so any checkout on this machine reuses it and a build
# only happens when tools/k8s-box changes. Go's build cache makes a rebuild
# after a small change cheap too.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
. ./versions.env

hash=$(cat versions.env go.mod go.sum tools.go build.sh | sha256sum | cut -c1-16)
out="${HWE_K8S_BOX_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hwe/k8s-box}/${hash}"
programs=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

complete() {
  [ -f "$out/.complete" ] || return 1
  for p in "${programs[@]}"; do [ -x "$out/$p" ] || return 1; done
}

if complete; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "k8s-box: Go is needed to build the control plane (apt-get install golang or see go.dev)" >&2; exit 1; }

mkdir -p "$out.tmp"
info=$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/^[[:space:]]*"Info": "\(.*\)",$/\1/p')
build_date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info")
minor=${K8S_VERSION#1.}; minor=${minor%%.*}
ver_pkgs=(k8s.io/component-base/version k8s.io/client-go/pkg/version)
ldflags="-s -w"
for pkg in "${ver_pkgs[@]}"; do
  ldflags+=" -X ${pkg}.gitVersion=v${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
  ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=${build_date}"
done
ldflags+=" -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION}"

echo "k8s-box: building Kubernetes v${K8S_VERSION} and kwok v${KWOK_VERSION} into $out (a cold build takes about 6 minutes on an idle 2-core machine)" >&2
start=$(date +%s)
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp/" \
  go.etcd.io/etcd/server/v3 \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kubectl \
  sigs.k8s.io/kwok/cmd/kwok
# etcd's main package is the module root, which go build names "server".
mv "$out.tmp/server" "$out.tmp/etcd"
for p in "${programs[@]}"; do [ -x "$out.tmp/$p" ] || { echo "k8s-box: $p was not built" >&2; exit 1; }; done
touch "$out.tmp/.complete"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "k8s-box: built in $(( $(date +%s) - start ))s" >&2
echo "$out"
