#!/usr/bin/env bash
# Usage: tools/image/base.sh ARCH   (amd64 or arm64)
# Builds the image's base layer with mmdebstrap from the Debian packages of versions.env and
# prints the path of the cached, uncompressed tar. The cache key is a hash of this script,
# versions.env and ARCH: ~/.cache/hwe/image/base-<key>.tar.
#
# mmdebstrap's "extract" variant unpacks the packages (and their dependencies) without running
# any of their maintainer scripts, so a foreign architecture needs no emulator: the same
# command builds amd64 and arm64. Documentation, manuals and translations are left out.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"
arch="${1:?usage: base.sh ARCH}"
key="$( (cat "$here/base.sh" "$here/versions.env"; echo "$arch") | sha256sum | cut -c1-16)"
cache="${HWE_CACHE:-$HOME/.cache/hwe}/image"
out="$cache/base-$key.tar"
if [ ! -s "$out" ]; then
  command -v mmdebstrap >/dev/null || {
    echo "base.sh: mmdebstrap is missing; install it (apt-get install mmdebstrap)" >&2
    exit 1
  }
  mkdir -p "$cache"
  echo "base.sh: building the $arch base from Debian $DEBIAN_SUITE ($BASE_PACKAGES)" >&2
  SOURCE_DATE_EPOCH=0 mmdebstrap --variant=extract --include="$BASE_PACKAGES" \
    --architectures="$arch" --skip=output/dev --format=tar \
    "$DEBIAN_SUITE" "$out.part" "$DEBIAN_MIRROR" 2>&1 | sed -u 's/^/base.sh: /' >&2
  tar --delete --wildcards -f "$out.part" \
    './usr/share/doc/*' './usr/share/man/*' './usr/share/locale/*' './usr/share/info/*' \
    './usr/share/lintian/*' './usr/share/gcc/*' './usr/share/gdb/*' './var/cache/apt/*' \
    './var/lib/apt/lists/*' 2>/dev/null || true
  mv "$out.part" "$out"
fi
printf '%s\n' "$out"
