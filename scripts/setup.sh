#!/usr/bin/env bash
# Prepares a machine to build, run and test hwe: Debian packages the tests use, npm
# dependencies, the TypeScript build, and the local control plane (tools/k8s-box).
# Safe to run again: each step skips what is already done.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
say() { printf 'setup: %s\n' "$*" >&2; }

# Debian packages, one per line in scripts/apt-packages.txt.
mapfile -t want < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' scripts/apt-packages.txt)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing Debian packages (install them as root): ${missing[*]}"
    exit 1
  fi
fi

# Further steps of components (each script is idempotent).
for s in scripts/setup.d/*.sh; do
  [ -e "$s" ] || continue
  bash "$s"
done

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "building"
npm run --silent build
say "building the local control plane (tools/k8s-box) if needed"
bash tools/k8s-box/build.sh >/dev/null
say "building upstream's nfd-worker (tools/nfd-upstream) for the parity test if needed"
bash tools/nfd-upstream/build.sh >/dev/null
say "ready"
