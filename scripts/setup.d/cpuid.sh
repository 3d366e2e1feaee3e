#!/usr/bin/env bash
# nfd-worker reads CPUID through the kernel's cpuid driver (/dev/cpu/N/cpuid), as upstream reads
# the instruction; the driver is a module on most distribution kernels. Loads it when missing.
# Without it the worker falls back to /proc/cpuinfo and says so, so failure here is not fatal.
set -euo pipefail
say() { printf 'setup: %s\n' "$*" >&2; }

case "$(uname -m)" in x86_64 | i?86) ;; *) exit 0 ;; esac
[ -e /dev/cpu/0/cpuid ] && exit 0
if [ "$(id -u)" = 0 ] && command -v modprobe >/dev/null && modprobe cpuid 2>/dev/null; then
  say "loaded the cpuid module"
else
  say "no /dev/cpu/0/cpuid (modprobe cpuid as root): nfd-worker will read /proc/cpuinfo instead"
fi
