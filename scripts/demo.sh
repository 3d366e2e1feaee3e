#!/usr/bin/env bash
# Sets everything up, starts the local cluster with simulated nodes, and runs on it:
# - Node Feature Discovery: the worker publishes the features of three fixture machines as the
#   nodes' NodeFeatures, the master turns them and the seed's NodeFeatureRule into node labels;
# - Kernel Module Management: a Module whose images (one per kernel) sit in a local registry is
#   loaded on the nodes its selector matches, each with the image for its kernel; then one node
#   reboots into a new kernel and gets the module built for that kernel.
# The cluster keeps running afterwards; stop it with: bin/hwe cluster down
# HWE_HOME (default ~/.hwe) says where the cluster lives: $HWE_HOME/cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
say() { printf '\n== %s\n' "$*"; }
dir="${HWE_HOME:-$HOME/.hwe}/cluster"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# The fixture machines' kernels: RHCOS 4.12 (intel-rhcos) and Debian 12 (amd-debian).
rhcos_kernel=4.18.0-372.46.1.el8_6.x86_64
debian_kernel=6.1.0-18-amd64
upgraded_kernel=4.18.0-372.52.1.el8_6.x86_64

bin/hwe cluster down >/dev/null 2>&1 || true # start afresh
say "starting the local cluster"
eval "$(bin/hwe cluster up --nodes 4 --kernel "$rhcos_kernel" | tail -n 1)"
bin/hwe cluster upgrade-kernel node-0002 "$debian_kernel" --os-image 'Debian GNU/Linux 12 (bookworm)'
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
# node-0003 publishes nothing: it gets no feature labels.
"$kubectl" get nodefeatures -n "$ns"

say "applying the NodeFeatureRule of the seed (veth loaded and an Intel PCI device)"
"$kubectl" apply -f examples/nfd/nodefeaturerule-upstream.yaml

say "nfd-master: labelling the nodes"
bin/hwe nfd master --namespace "$ns" --port 0 >"$dir/logs/nfd-master.log" 2>&1 &
master=$!
pids+=("$master")
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

say "KMM: a local registry with the module images, one per kernel"
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
registry="127.0.0.1:$port"
mkdir -p "$dir/registry"
cat >"$dir/registry/config.yml" <<CFG
version: 0.1
log: { level: warn, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $dir/registry/data } }
http: { addr: $registry }
CFG
docker-registry serve "$dir/registry/config.yml" >"$dir/logs/registry.log" 2>&1 &
pids+=("$!")
registry_up() { node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://$registry/v2/"; }
for _ in $(seq 1 100); do registry_up && break; sleep 0.2; done
node dist/scripts/demo-kmm-images.js "$registry" demo/kmm-demo-rhcos "$rhcos_kernel" "$upgraded_kernel"
node dist/scripts/demo-kmm-images.js "$registry" demo/kmm-demo-debian "$debian_kernel"

say "KMM: the operator, and the worker pods' stand-in on the simulated nodes"
"$kubectl" create namespace kmm-operator >/dev/null
for sa in kmm-operator-module-loader kmm-operator-device-plugin; do
  "$kubectl" create serviceaccount -n kmm-operator "$sa" >/dev/null
done
bin/hwe kmm operator --namespace kmm-operator --worker-image hwe:demo \
  --health-probe-bind-address 127.0.0.1:0 --metrics-bind-address 127.0.0.1:0 \
  >"$dir/logs/kmm-operator.log" 2>&1 &
pids+=("$!")
# kwok runs no containers: this completes each worker pod by running the worker's steps in a
# dry run (image pulled and unpacked, modprobe -n for the node's kernel); see its --help.
bin/hwe cluster kmm-workers >"$dir/logs/kmm-workers.out" 2>"$dir/logs/kmm-workers.log" &
pids+=("$!")

say "KMM: a Module for the SR-IOV capable nodes (a label NFD set), images per kernel"
"$kubectl" create namespace kmm-demo >/dev/null
"$kubectl" apply -f - <<YAML
apiVersion: kmm.sigs.x-k8s.io/v1beta1
kind: Module
metadata: { name: kmm-demo, namespace: kmm-demo }
spec:
  selector: { feature.node.kubernetes.io/network-sriov.capable: "true" }
  moduleLoader:
    container:
      modprobe: { moduleName: kmm_demo }
      registryTLS: { insecure: true }
      kernelMappings:
        - regexp: '^4\.18\.0-.*\.el8_\d+\.x86_64$'
          containerImage: $registry/demo/kmm-demo-rhcos:\${KERNEL_FULL_VERSION}
        - regexp: '^6\.1\.'
          containerImage: $registry/demo/kmm-demo-debian:\${KERNEL_FULL_VERSION}
YAML
ready=kmm.node.kubernetes.io/kmm-demo.kmm-demo.ready
module_events() { # on the nodes (Normal) and on the Module (Warning), as KMM records them
  echo "Events of the Module:"
  "$kubectl" get events -A -o custom-columns='OBJECT:.involvedObject.name,REASON:.reason,MESSAGE:.message' \
    --sort-by=.metadata.creationTimestamp | grep -E '^OBJECT|kmm-demo/kmm-demo|^kmm-demo '
}
wait_for() { # DESCRIPTION COMMAND...: retries for up to 3 minutes
  local what="$1"
  shift
  for _ in $(seq 1 360); do "$@" && return 0; sleep 0.5; done
  echo "timed out waiting for $what; logs in $dir/logs" >&2
  return 1
}
ready_on_3() { [ "$("$kubectl" get nodes -l "$ready" -o name | wc -l)" = 3 ]; }
wait_for "the module on 3 nodes" ready_on_3
"$kubectl" get nodes -o custom-columns='NAME:.metadata.name,KERNEL:.status.nodeInfo.kernelVersion,SRIOV:.metadata.labels.feature\.node\.kubernetes\.io/network-sriov\.capable'
echo
echo "Image loaded on each node (NodeModulesConfig status):"
"$kubectl" get nodemodulesconfigs -o go-template='{{range .items}}{{$n := .metadata.name}}{{range .status.modules}}{{$n}}: {{.config.containerImage}}{{"\n"}}{{end}}{{end}}'
echo
echo "Nodes with the module's ready label ($ready):"
"$kubectl" get nodes -l "$ready" -o name
echo
echo "Worker pods, completed by the dry run (modprobe -n prints what it would insert):"
cat "$dir/logs/kmm-workers.out"
echo
echo "Module status:"
"$kubectl" get module -n kmm-demo kmm-demo -o jsonpath='{.status}' | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.stringify(JSON.parse(s),null,2)))'
module_events

say "KMM: node-0001 reboots into kernel $upgraded_kernel; the module follows"
bin/hwe cluster upgrade-kernel node-0001 "$upgraded_kernel"
upgraded() {
  "$kubectl" get nodemodulesconfig node-0001 \
    -o jsonpath='{.status.modules[0].config.kernelVersion}' | grep -qx "$upgraded_kernel" &&
    "$kubectl" get nodes -l "$ready" -o name | grep -qx node/node-0001
}
wait_for "the module on node-0001's new kernel" upgraded
"$kubectl" get nodemodulesconfigs -o go-template='{{range .items}}{{$n := .metadata.name}}{{range .status.modules}}{{$n}}: {{.config.containerImage}}{{"\n"}}{{end}}{{end}}'
echo "Worker pods so far:"
cat "$dir/logs/kmm-workers.out"
echo
module_events

cat <<MSG

The cluster keeps running (nfd-master, the KMM operator, the worker stand-in and the registry
have stopped; labels and objects stay). To use it from this shell:
  export KUBECONFIG=$KUBECONFIG
  export PATH=$(dirname "$kubectl"):\$PATH    # kubectl built with the control plane
Stop it with: bin/hwe cluster down
MSG
