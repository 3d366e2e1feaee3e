import { OciError } from './errors.js';
import type { Descriptor, Platform } from './types.js';
import { quoteValue } from '../runtime/quote.js';

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, PlatformSpec['architecture']> = {
  x86_64: 'amd64',
  x86: '386',
  i386: '386',
  i686: '386',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  x64: 'amd64',
  ia32: '386',
};

/** Normalises as containerd does: aliases of architectures, default variants (arm64 → v8). */
export function normalizePlatform(p: PlatformSpec): PlatformSpec {
  const os = p.os.toLowerCase();
  const raw = p.architecture.toLowerCase();
  const architecture = ARCH_ALIASES[raw] ?? raw;
  let variant = p.variant?.toLowerCase() || undefined;
  if (raw === 'armhf' && !variant) variant = 'v7';
  if (raw === 'armel' && !variant) variant = 'v6';
  if (architecture === 'arm64' && (variant === '8' || variant === 'v8')) variant = undefined;
  if (architecture === 'arm' && variant && /^\d$/.test(variant)) variant = `v${variant}`;
  if (architecture === 'arm' && !variant) variant = 'v7';
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const out: PlatformSpec = { os, architecture };
  if (variant) out.variant = variant;
  return out;
}

/** Parses `os/arch[/variant]`, e.g. `linux/arm64/v8`. */
export function parsePlatform(s: string): PlatformSpec {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new OciError(
      'InvalidReference',
      `platform ${quoteValue(s)} must be os/architecture[/variant], e.g. linux/amd64 or linux/arm/v7`,
    );
  }
  const p: PlatformSpec = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2]) p.variant = parts[2];
  return normalizePlatform(p);
}

export function formatPlatform(p: PlatformSpec): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The platform of this process (Linux on the machine's architecture). */
export function hostPlatform(): PlatformSpec {
  const arch = process.arch === 'ppc64' ? 'ppc64le' : process.arch;
  return normalizePlatform({ os: 'linux', architecture: arch });
}

/**
 * For an `arm` request, older variants also run (v7 hardware runs v6 and v5 binaries); order
 * is preference. Other architectures accept only their own variant.
 */
function acceptableVariants(want: PlatformSpec): (string | undefined)[] {
  if (want.architecture === 'arm') {
    const n = Number((want.variant ?? 'v7').slice(1));
    return [8, 7, 6, 5].filter((v) => v <= n).map((v) => `v${v}`);
  }
  return [want.variant];
}

/**
 * Picks the manifest of an index for a platform: os and architecture must agree, the variant
 * must be acceptable (best variant first; entries listed earlier win ties). Entries without a
 * platform (attestations, artifacts) are never chosen.
 */
export function selectPlatform(
  manifests: Descriptor[],
  want: PlatformSpec,
): Descriptor | undefined {
  const w = normalizePlatform(want);
  const variants = acceptableVariants(w);
  let best: { d: Descriptor; rank: number } | undefined;
  for (const d of manifests) {
    const p: Platform | undefined = d.platform;
    if (!p?.os || !p.architecture) continue;
    const n = normalizePlatform(p);
    if (n.os !== w.os || n.architecture !== w.architecture) continue;
    // A request without a variant (other than arm's default) takes any variant.
    const rank =
      want.variant === undefined && w.architecture !== 'arm'
        ? n.variant === undefined
          ? 0
          : 1
        : variants.indexOf(n.variant);
    if (rank < 0) continue;
    if (!best || rank < best.rank) best = { d, rank };
  }
  return best?.d;
}
