#!/usr/bin/env bash
# Builds helm and the operator-framework's bundle validator (tools/install-box), which the
# install tests use to check the Helm chart and the OLM bundles. Cached outside the tree;
# does nothing when both are built.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
for tool in helm operator-verify; do
  bash "$root/tools/install-box/build.sh" "$tool" >/dev/null
done
