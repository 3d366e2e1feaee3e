#!/usr/bin/env bash
# Node.js 24, the runtime the hwe image ships, from the npm registry into ~/.cache/hwe/node/ (the
# version is in tools/image/versions.env). .ci/run puts it first on PATH, so CI tests hwe on the
# Node.js it runs on in a cluster; the image build takes its binary from the same place.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$(bash "$root/tools/image/node.sh")"
printf 'setup: Node.js for CI and the image: %s (%s)\n' "$("$dir/bin/node" --version)" "$dir" >&2
