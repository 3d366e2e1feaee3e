#!/usr/bin/env bash
# Builds the tools that check hwe's install artefacts and prints the directory holding the
# one asked for:
#   helm             helm.sh/helm/v3/cmd/helm (helm lint, helm template)
#   operator-verify  the operator-framework's bundle validator
#
# Like tools/k8s-box, each tool lives outside the work tree in a directory named by a hash of
# its version and of this script, so every checkout on the machine shares it and it is built
# once. `go install module/cmd@version` builds with the module's own go.mod, as its
# maintainers release it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/versions.env"

tool="${1:-}"
case "$tool" in
  helm) pkg="${HELM_MODULE}/cmd/helm@${HELM_VERSION}"
        ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" ;;
  operator-verify) pkg="${OPERATOR_API_MODULE}/cmd/operator-verify@${OPERATOR_API_VERSION}"
        ldflags="-s -w" ;;
  *) echo "usage: $0 helm|operator-verify" >&2; exit 2 ;;
esac

hash=$(printf '%s\n' "$pkg" | cat - "$here/build.sh" | sha256sum | cut -c1-16)
out="${HWE_INSTALL_BOX_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hwe/install-box}/${tool}-${hash}"
if [ -x "$out/$tool" ] && [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "install-box: Go is needed to build $tool (apt-get install golang or see go.dev)" >&2; exit 1; }

echo "install-box: building $pkg into $out (a cold build takes a few minutes; go build -v lists packages as they compile)" >&2
start=$(date +%s)
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
# Progress: one line per package compiled, on stderr.
GOBIN="$out.tmp" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -v -trimpath -ldflags "$ldflags" "$pkg" 2>&1 \
  | awk '{ n++; if (n % 50 == 0) printf "install-box: %s: %d packages compiled\n", tool, n > "/dev/stderr"; else if ($0 !~ /^[A-Za-z0-9._~+\/-]+$/) print > "/dev/stderr" }' tool="$tool"
[ -x "$out.tmp/$tool" ] || { echo "install-box: $tool was not built" >&2; exit 1; }
touch "$out.tmp/.complete"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "install-box: $tool built in $(( $(date +%s) - start ))s" >&2
echo "$out"
