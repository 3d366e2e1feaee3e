#!/usr/bin/env bash
# Sets everything up, starts the local cluster with simulated nodes, and runs Node Feature
# Discovery on it: the worker publishes the features of three fixture machines as the nodes'
# NodeFeatures, the master turns them and the seed's NodeFeatureRule into node labels.
# The cluster keeps running afterwards; stop it with: bin/hwe cluster down
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
say() { printf '\n== %s\n' "$*"; }

bin/hwe cluster down >/dev/null 2>&1 || true # start afresh
say "starting the local cluster"
eval "$(bin/hwe cluster up --nodes 3 | tail -n 1)"
kubectl="$(bash tools/k8s-box/build.sh)/kubectl"
"$kubectl" get nodes -o wide

say "installing hwe's custom resource definitions"
"$kubectl" apply --server-side -f config/crd/bases >/dev/null
"$kubectl" wait --for condition=Established --timeout=60s crd --all >/dev/null
ns=node-feature-discovery
"$kubectl" create namespace "$ns" >/dev/null

say "nfd-worker: publishing each node's features (from fixture machines under test/fixtures/hosts)"
publish() {
  bin/hwe nfd worker --oneshot --host-root "test/fixtures/hosts/$2" --node-name "$1" --namespace "$ns"
}
publish node-0000 intel-rhcos
publish node-0001 intel-rhcos
publish node-0002 amd-debian
"$kubectl" get nodefeatures -n "$ns"

say "applying the NodeFeatureRule of the seed (veth loaded and an Intel PCI device)"
"$kubectl" apply -f examples/nfd/nodefeaturerule-upstream.yaml

say "nfd-master: labelling the nodes"
log="$HOME/.hwe/cluster/logs/nfd-master.log"
bin/hwe nfd master --namespace "$ns" --port 0 >"$log" 2>&1 &
master=$!
trap 'kill "$master" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  [ "$("$kubectl" get nodes -l feature.node.kubernetes.io/example-custom-feature=true -o name | wc -l)" = 2 ] && break
  sleep 0.5
done
"$kubectl" get nodes -L feature.node.kubernetes.io/example-custom-feature \
  -L feature.node.kubernetes.io/cpu-model.vendor_id -L feature.node.kubernetes.io/kernel-version.full \
  -L feature.node.kubernetes.io/pci-0302_10de.present
echo
echo "Labels of node-0000 (without the cpuid flags):"
"$kubectl" get node node-0000 -o go-template='{{range $k, $v := .metadata.labels}}{{$k}}={{$v}}{{"\n"}}{{end}}' |
  grep '^feature.node.kubernetes.io/' | grep -v cpu-cpuid
kill "$master" 2>/dev/null || true

cat <<MSG

The cluster keeps running (nfd-master has stopped; its labels stay). To use it from this shell:
  export KUBECONFIG=$KUBECONFIG
  export PATH=$(dirname "$kubectl"):\$PATH    # kubectl built with the control plane
Stop it with: bin/hwe cluster down
MSG
