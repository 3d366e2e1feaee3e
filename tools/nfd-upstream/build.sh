#!/usr/bin/env bash
# Builds upstream node-feature-discovery's nfd-worker from its Go module, for side-by-side
# comparisons with hwe's worker (`-oneshot -no-publish` prints the features it finds), and
# prints the path of the program.
#
# The program lives outside the work tree, in a directory named by a hash of this script, so
# every checkout on this machine reuses it; a build only happens when the version changes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
NFD_VERSION=0.19.0
hash=$(cat "$here/build.sh" | sha256sum | cut -c1-16)
out="${HWE_NFD_UPSTREAM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hwe/nfd-upstream}/${hash}"

if [ -x "$out/nfd-worker" ] && [ -f "$out/.complete" ]; then
  echo "$out/nfd-worker"
  exit 0
fi
command -v go >/dev/null || { echo "nfd-upstream: Go is needed to build upstream's nfd-worker" >&2; exit 1; }

# The module's go.mod replaces its API module by ./api/nfd, which its module zip leaves out
# (a nested module), and `go install pkg@version` refuses replace directives: build in a copy
# of the module with the API module of the same version put in place.
dir_of() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }
src=$(dir_of "sigs.k8s.io/node-feature-discovery@v${NFD_VERSION}")
api=$(dir_of "sigs.k8s.io/node-feature-discovery/api/nfd@v${NFD_VERSION}")
[ -d "$src" ] && [ -d "$api" ] || { echo "nfd-upstream: cannot download node-feature-discovery v${NFD_VERSION}" >&2; exit 1; }
echo "nfd-upstream: building nfd-worker v${NFD_VERSION} into $out" >&2
rm -rf "$out.tmp"
mkdir -p "$out.tmp/src"
cp -r "$src/." "$out.tmp/src/"
rm -rf "$out.tmp/src/api/nfd"
cp -r "$api" "$out.tmp/src/api/nfd"
chmod -R u+w "$out.tmp/src"
start=$(date +%s)
# cgo stays on as in upstream's image: on arm64 the cpuid flags come from getauxval.
(cd "$out.tmp/src" && go build -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/node-feature-discovery/pkg/version.version=v${NFD_VERSION}" \
  -o "$out.tmp/nfd-worker" ./cmd/nfd-worker)
rm -rf "$out.tmp/src"
touch "$out.tmp/.complete"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "nfd-upstream: built in $(( $(date +%s) - start ))s" >&2
echo "$out/nfd-worker"
