#!/usr/bin/env bash
# Sets everything up, starts the local cluster with simulated nodes and shows it.
# Stop it with: bin/hwe cluster down
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
nodes="${HWE_DEMO_NODES:-3}"
bin/hwe cluster down >/dev/null 2>&1 || true   # start afresh
eval "$(bin/hwe cluster up --nodes "$nodes" | tail -n 1)"
kubectl="$(bash tools/k8s-box/build.sh)/kubectl"
echo
"$kubectl" get nodes -o wide
echo
echo "The cluster keeps running. To use it from this shell:"
echo "  export KUBECONFIG=$KUBECONFIG"
echo "  export PATH=$(dirname "$kubectl"):\$PATH    # kubectl built with the control plane"
echo "Stop it with: bin/hwe cluster down"
