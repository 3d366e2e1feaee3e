#!/usr/bin/env bash
# Records the machine at hand as a parity host in test/fixtures/parity/NAME: its CPUID leaves
# (`cpuid -r -1` on CPU 0, Debian package `cpuid`), its /proc/cpuinfo, and the NodeFeature
# that upstream's nfd-worker (tools/nfd-upstream/build.sh) publishes for it on a local control
# plane, metadata trimmed to the name, keys sorted. The CPUID decoder and the /proc/cpuinfo fallback are then
# tested against it on any machine (src/nfd/worker/sources/cpuid.test.ts).
#
#   tools/nfd-upstream/record-host.sh amd-epyc-family26
set -euo pipefail
name="${1:?usage: record-host.sh NAME (e.g. amd-epyc-family26)}"
[[ "$name" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || { echo "record-host: NAME must be a DNS label: $name" >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
command -v cpuid >/dev/null || { echo "record-host: install Debian's cpuid package first (apt-get install cpuid)" >&2; exit 1; }
[ -f dist/src/cli/main.js ] || { echo "record-host: run npm run build first" >&2; exit 1; }
upstream=$(bash tools/nfd-upstream/build.sh)
kubectl="$(bash tools/k8s-box/build.sh)/kubectl"
out="test/fixtures/parity/$name"
work=$(mktemp -d)
trap 'node bin/hwe cluster down --dir "$work/cluster" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

node bin/hwe cluster up --dir "$work/cluster" --nodes 1 > "$work/up.log"
# Its last line is "export KUBECONFIG=<path>".
eval "$(tail -1 "$work/up.log")"
"$kubectl" apply -f config/crd/bases/nfd.k8s-sigs.io_nodefeatures.yaml >/dev/null
"$kubectl" wait --for condition=established crd/nodefeatures.nfd.k8s-sigs.io >/dev/null
NODE_NAME="$name" POD_NAMESPACE=default KUBERNETES_NAMESPACE=default \
  "$upstream" -kubeconfig "$KUBECONFIG" -oneshot 2> "$work/upstream.log" ||
  { tail -20 "$work/upstream.log" >&2; exit 1; }
"$kubectl" get nodefeature -n default "$name" -o json > "$work/nf.json"

mkdir -p "$out"
# Leaf 1 carries the APIC ID of the CPU it runs on: always the first.
taskset -c 0 cpuid -r -1 > "$out/cpuid-raw.txt"
cp /proc/cpuinfo "$out/cpuinfo.txt"
node -e '
  const fs = require("node:fs");
  const nf = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const sorted = (v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])]))
      : Array.isArray(v) ? v.map(sorted) : v;
  const kept = { apiVersion: nf.apiVersion, kind: nf.kind, metadata: { name: nf.metadata.name }, spec: nf.spec };
  fs.writeFileSync(process.argv[2], JSON.stringify(sorted(kept), null, 1));
' "$work/nf.json" "$out/upstream-v0.19.0-nodefeature.json"
echo "record-host: wrote $out" >&2
