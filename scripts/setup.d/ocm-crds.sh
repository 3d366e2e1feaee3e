#!/usr/bin/env bash
# Fetches Open Cluster Management's CRDs (tools/ocm-crds) for the KMM hub tests. Cached outside
# the tree; does nothing when they are there.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$root/tools/ocm-crds/fetch.sh" >/dev/null
