import { fail, ok, type Result } from './errors.js';
import { quoteValue } from '../../runtime/quote.js';

/**
 * A kernel release as `uname -r` and `node.status.nodeInfo.kernelVersion` print it, e.g.
 * `5.14.0-284.30.1.el9_2.x86_64`. npm semver rejects these (four-part releases, underscores,
 * architecture suffixes), so KMM's own rule applies: normalise, then split on `.`, `,` and `-`.
 */
export interface KernelVersion {
  /** The string as given. */
  raw: string;
  /** `raw` with characters outside [A-Za-z0-9._-] replaced by `_` (upstream NormalizeVersion). */
  normalized: string;
  /** `normalized` split on `.`, `,` and `-`. */
  fields: string[];
  major: number;
  minor: number;
  patch: number;
  /** `X.Y.Z` as written, e.g. `5.14.0`. */
  xyz: string;
  /** What follows X.Y.Z, without the separator: `284.30.1.el9_2.x86_64`; empty if nothing. */
  localVersion: string;
}

/** Replaces every character outside [A-Za-z0-9._-] with `_`, as upstream does before splitting. */
export function normalizeKernelVersion(version: string): string {
  return version.replace(/[^A-Za-z0-9._-]/g, '_');
}

// Upstream splits on [.,-]; normalisation has already turned any ',' into '_'.
const SEPARATORS = /[.-]/;
const DIGITS = /^[0-9]+$/;
const EXAMPLE = 'e.g. 5.14.0-284.30.1.el9_2.x86_64';

/**
 * Parses a kernel release. Upstream only requires three fields after splitting; we also require
 * them to be numbers, since every Linux release string starts with VERSION.PATCHLEVEL.SUBLEVEL
 * and anything else (`tesdt`, `latest`) is a typo that would otherwise give nonsense variables.
 */
export function parseKernelVersion(raw: string, field = 'kernelVersion'): Result<KernelVersion> {
  if (raw === '')
    return fail('InvalidKernelVersion', field, `empty; give a kernel release, ${EXAMPLE}`);
  if (/\s/.test(raw)) {
    return fail(
      'InvalidKernelVersion',
      field,
      `${quoteValue(raw)} contains white space; ${EXAMPLE}`,
    );
  }
  const normalized = normalizeKernelVersion(raw);
  const fields = normalized.split(SEPARATORS);
  const [x, y, z] = fields;
  if (fields.length < 3 || x === undefined || y === undefined || z === undefined) {
    return fail(
      'InvalidKernelVersion',
      field,
      `${quoteValue(raw)} is not a kernel release: it needs at least three fields X.Y.Z, ${EXAMPLE}`,
    );
  }
  for (const [name, v] of [
    ['X (major)', x],
    ['Y (minor)', y],
    ['Z (patch)', z],
  ] as const) {
    if (!DIGITS.test(v)) {
      return fail(
        'InvalidKernelVersion',
        field,
        `${quoteValue(raw)} is not a kernel release: field ${name} is ${quoteValue(v)}, not a number; ${EXAMPLE}`,
      );
    }
  }
  const xyzLength = x.length + y.length + z.length + 2;
  return ok({
    raw,
    normalized,
    fields,
    major: Number(x),
    minor: Number(y),
    patch: Number(z),
    xyz: `${x}.${y}.${z}`,
    localVersion: normalized.slice(xyzLength + 1),
  });
}

/** The variables of SPEC §3.1 for a kernel and a Module, as upstream defines them. */
export function kernelVariables(
  kernel: KernelVersion,
  module: { name?: string; namespace?: string },
): Record<string, string> {
  return {
    KERNEL_FULL_VERSION: kernel.normalized,
    KERNEL_VERSION: kernel.normalized,
    KERNEL_XYZ: kernel.xyz,
    KERNEL_X: kernel.fields[0]!,
    KERNEL_Y: kernel.fields[1]!,
    KERNEL_Z: kernel.fields[2]!,
    MOD_NAME: module.name ?? '',
    MOD_NAMESPACE: module.namespace ?? '',
  };
}
