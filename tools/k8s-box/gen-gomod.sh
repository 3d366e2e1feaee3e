#!/usr/bin/env bash
# Regenerates go.mod/go.sum for the wrapper module.
#
# k8s.io/kubernetes cannot be required as-is: its go.mod replaces every staging
# module (k8s.io/api, k8s.io/apimachinery, ...) with a directory inside its own
# tree. We read that replace list from the release's own go.mod and point each
# staging module at its published v0.<minor>.<patch> tag instead.
set -euo pipefail
cd "$(dirname "$0")"
. ./versions.env

staging_version="v0.${K8S_VERSION#1.}"
modfile=$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[ -f "$modfile" ] || { echo "gen-gomod: cannot find go.mod of k8s.io/kubernetes@v${K8S_VERSION}" >&2; exit 1; }

staging=$(go mod edit -json "$modfile" | awk -F'"' '
  /"Old": \{/ { inold=1; next }
  inold && /"Path":/ { path=$4; inold=0; next }
  /"New": \{/ { innew=1; next }
  innew && /"Path":/ { if ($4 ~ /^\.\/staging\/src\//) print path; innew=0 }
')
[ -n "$staging" ] || { echo "gen-gomod: no staging replaces found in $modfile" >&2; exit 1; }

rm -f go.mod go.sum
go mod init hwe.local/k8s-box >/dev/null 2>&1
go mod edit -go=1.24.0
go mod edit -require="k8s.io/kubernetes@v${K8S_VERSION}" -require="sigs.k8s.io/kwok@v${KWOK_VERSION}"
for m in $staging; do
  go mod edit -replace="${m}=${m}@${staging_version}"
done
go mod tidy
echo "gen-gomod: k8s.io/kubernetes v${K8S_VERSION}, $(echo "$staging" | wc -l) staging modules at ${staging_version}, kwok v${KWOK_VERSION}"
