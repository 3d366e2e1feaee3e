#!/usr/bin/env bash
# Fetches the CustomResourceDefinitions of Open Cluster Management that the KMM hub talks to,
# from the Go modules OCM publishes them in, and prints the directory holding them:
#   open-cluster-management.io/api                    ManagedCluster, ClusterClaim, ManifestWork,
#                                                     AppliedManifestWork
#   open-cluster-management.io/governance-policy-propagator   Policy, PlacementBinding
#   open-cluster-management.io/multicloud-operators-subscription PlacementRule
# hwe never writes these by hand. The copy lives outside the work tree, in a directory named by
# a hash of this script (which holds the versions), so every checkout on this machine reuses it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
OCM_API_VERSION=v1.0.0
POLICY_VERSION=v0.16.0
SUBSCRIPTION_VERSION=v0.16.0
hash=$(sha256sum <"$here/fetch.sh" | cut -c1-16)
out="${HWE_OCM_CRDS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hwe/ocm-crds}/${hash}"

if [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "ocm-crds: Go is needed to download OCM's API modules" >&2; exit 1; }
dir_of() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }
api=$(dir_of "open-cluster-management.io/api@${OCM_API_VERSION}")
policy=$(dir_of "open-cluster-management.io/governance-policy-propagator@${POLICY_VERSION}")
sub=$(dir_of "open-cluster-management.io/multicloud-operators-subscription@${SUBSCRIPTION_VERSION}")
files=(
  "$api/cluster/v1/0000_00_clusters.open-cluster-management.io_managedclusters.crd.yaml"
  "$api/cluster/v1alpha1/0000_02_clusters.open-cluster-management.io_clusterclaims.crd.yaml"
  "$api/work/v1/0000_00_work.open-cluster-management.io_manifestworks.crd.yaml"
  "$api/work/v1/0000_01_work.open-cluster-management.io_appliedmanifestworks.crd.yaml"
  "$policy/deploy/crds/policy.open-cluster-management.io_policies.yaml"
  "$policy/deploy/crds/policy.open-cluster-management.io_placementbindings.yaml"
  "$sub/deploy/olm-catalog/multicluster-operators-subscription/manifests/apps.open-cluster-management.io_placementrules_crd_v1.yaml"
)
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "ocm-crds: $f is missing from the module" >&2; exit 1; }
  cp "$f" "$out.tmp/$(basename "$f")"
done
chmod -R u+w "$out.tmp"
touch "$out.tmp/.complete"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "ocm-crds: OCM CRDs (api ${OCM_API_VERSION}) in $out" >&2
echo "$out"
