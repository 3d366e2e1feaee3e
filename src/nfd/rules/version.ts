/**
 * Versions for `type: version` expressions: `MAJOR[.MINOR[.PATCH]]`, each a decimal integer
 * (leading zeros allowed), optionally followed by a `-prerelease` and/or `+build` suffix, which is
 * ignored. Missing components count as 0, so `5.14.0-284.30.1.el9_2.x86_64` is 5.14.0 and is
 * greater than `5.9`.
 */
export type Version = readonly [number, number, number];

const VERSION_RE = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?$/;

/** Parses a version, or returns undefined when `s` is not one. */
export function parseVersion(s: string): Version | undefined {
  const m = VERSION_RE.exec(s);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
