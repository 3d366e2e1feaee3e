import {
  type PlatformSpec,
  type RegistryClient,
  type ImageReference,
  extractFiles,
  formatReference,
  resolveImage,
} from '../oci/index.js';
import { ReleaseError } from './release.js';

/** The file in every DTK image that names the kernels it was built for. */
export const DTK_RELEASE_FILE = 'etc/driver-toolkit-release.json';

/** `/etc/driver-toolkit-release.json`, keys as the DTK writes them. */
export interface DtkRelease {
  KERNEL_VERSION: string;
  RT_KERNEL_VERSION?: string;
  RHEL_VERSION?: string;
  [key: string]: unknown;
}

/** Parses the DTK release file; the message names the key at fault. */
export function parseDtkRelease(text: string): DtkRelease | { problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { problem: `/${DTK_RELEASE_FILE} is not JSON: ${(e as Error).message}` };
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    return { problem: `/${DTK_RELEASE_FILE} must be a JSON object` };
  }
  const o = doc as Record<string, unknown>;
  if (typeof o.KERNEL_VERSION !== 'string' || o.KERNEL_VERSION === '') {
    return { problem: `/${DTK_RELEASE_FILE}: KERNEL_VERSION must be a non-empty string` };
  }
  for (const k of ['RT_KERNEL_VERSION', 'RHEL_VERSION']) {
    if (o[k] !== undefined && typeof o[k] !== 'string') {
      return { problem: `/${DTK_RELEASE_FILE}: ${k} must be a string` };
    }
  }
  return o as DtkRelease;
}

/**
 * Whether a DTK fits a node's kernel (`status.nodeInfo.kernelVersion`): its regular or its
 * real-time kernel is that exact version. Older DTKs wrote the RT version with a `+rt` suffix
 * that `uname -r` of RT kernels also carries, so the comparison is exact.
 */
export function dtkMatchesKernel(release: DtkRelease, kernel: string): boolean {
  return release.KERNEL_VERSION === kernel || release.RT_KERNEL_VERSION === kernel;
}

/** Reads `/etc/driver-toolkit-release.json` from a DTK image. */
export async function readDtkRelease(
  client: RegistryClient,
  ref: ImageReference,
  opts: { platform?: PlatformSpec } = {},
): Promise<DtkRelease> {
  const image = await resolveImage(client, ref, opts);
  const f = (await extractFiles(client, image, [DTK_RELEASE_FILE])).get(DTK_RELEASE_FILE);
  if (!f?.data) {
    throw new ReleaseError(
      'NotDriverToolkit',
      `${formatReference(ref)} is not a driver-toolkit image: it has no /${DTK_RELEASE_FILE}`,
    );
  }
  const r = parseDtkRelease(f.data.toString('utf8'));
  if ('problem' in r)
    throw new ReleaseError(
      'InvalidDriverToolkitRelease',
      `${formatReference(ref)}: ${String(r.problem)}`,
    );
  return r;
}
