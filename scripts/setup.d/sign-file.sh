#!/usr/bin/env bash
# Fetches the kernel's scripts/sign-file (package linux-kbuild-6.1) into a cache directory, so
# that tests can compare hwe's module signatures with the kernel tool byte for byte. The .deb is
# unpacked with dpkg -x instead of installed: installing it would pull in the kernel build
# dependency world, and sign-file itself needs only libcrypto (libssl3).
# Idempotent: does nothing when sign-file is already installed or cached and runs.
set -euo pipefail
say() { printf 'setup: %s\n' "$*" >&2; }

pkg=linux-kbuild-6.1
rel=usr/lib/linux-kbuild-6.1/scripts/sign-file
cache="${HWE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hwe/tools}"

# sign-file prints its usage and exits 2 when run without arguments; a missing library makes the
# loader exit 127 instead, which is what this check catches.
runs() {
  local rc=0
  "$1" >/dev/null 2>&1 || rc=$?
  [ "$rc" -ne 127 ] && [ "$rc" -ne 126 ]
}

if [ -x "/$rel" ] && runs "/$rel"; then
  exit 0
fi
if [ -x "$cache/$rel" ] && runs "$cache/$rel"; then
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  say "apt-get not found: install $pkg (for $rel) by other means"
  exit 1
fi
say "fetching sign-file from $pkg into $cache"
mkdir -p "$cache"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt-get download needs no root and writes into the current directory. As root, apt hands the
# download to the _apt user, which cannot write into a private temporary directory.
sandbox=()
[ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
download() { (cd "$work" && apt-get download -qq "${sandbox[@]}" "$pkg" >/dev/null); }
# A fresh machine may have no package lists yet; refresh them once if we may.
if ! download; then
  [ "$(id -u)" = 0 ] || { say "apt-get download $pkg failed; run apt-get update as root"; exit 1; }
  apt-get update -qq
  download
fi
deb="$(ls "$work"/*.deb)"
dpkg -x "$deb" "$work/root"
mkdir -p "$cache/$(dirname "$rel")"
install -m 0755 "$work/root/$rel" "$cache/$rel"
if ! runs "$cache/$rel"; then
  say "sign-file was fetched to $cache/$rel but does not run; install libssl3 (libcrypto)"
  exit 1
fi
say "sign-file ready at $cache/$rel"
