/**
 * The signing job's work: pull the unsigned image, sign the modules that filesToSign names, add
 * them as one layer on top, push the result. No Docker engine, no unpacked root filesystem:
 * only the selected files are read, and the key never leaves memory.
 */
import {
  type DockerConfig,
  type LayerEntry,
  type RegistryTLS,
  RegistryClient,
  appendLayer,
  extractFiles,
  parseReference,
  resolveImage,
} from '../../oci/index.js';
import { type Signer, parseModuleSignature, signModuleBytes } from '../../signing/index.js';
import { compileGlob } from './glob.js';
import { quoteValue } from '../../runtime/quote.js';

export interface SignImageOptions {
  unsignedImage: string;
  image: string;
  /** Absolute paths or shell globs inside the image. */
  filesToSign: string[];
  signer: Signer;
  dockerConfig?: DockerConfig;
  pullTLS?: RegistryTLS;
  pushTLS?: RegistryTLS;
  /** Sign but push nothing (preflight checks). */
  push: boolean;
  now?: () => Date;
}

export interface SignedFile {
  path: string;
  signer: string;
  replacedSignature: boolean;
}

export interface SignImageResult {
  image: string;
  /** Digest of the pushed manifest; absent with push false. */
  digest?: string;
  signed: SignedFile[];
}

/** A failure of the signing job, with a message that names the field or input at fault. */
export class SignImageError extends Error {
  constructor(
    readonly kind: 'NoMatch' | 'InvalidPattern' | 'NotAModule',
    message: string,
  ) {
    super(message);
    this.name = 'SignImageError';
  }
}

export async function signImage(opts: SignImageOptions): Promise<SignImageResult> {
  if (opts.filesToSign.length === 0) {
    throw new SignImageError('NoMatch', 'sign.filesToSign is empty; list the modules to sign');
  }
  const matchers = opts.filesToSign.map((p) => {
    try {
      return compileGlob(p.startsWith('/') ? p : `/${p}`);
    } catch (e) {
      throw new SignImageError(
        'InvalidPattern',
        `sign.filesToSign ${quoteValue(p)}: ${(e as Error).message}`,
      );
    }
  });
  const srcRef = parseReference(opts.unsignedImage);
  const dstRef = parseReference(opts.image);
  const source = new RegistryClient({
    registry: srcRef.registry,
    ...(opts.dockerConfig ? { dockerConfig: opts.dockerConfig } : {}),
    ...(opts.pullTLS ? { tls: opts.pullTLS } : {}),
  });
  const target =
    dstRef.registry === srcRef.registry &&
    !!opts.pullTLS?.insecure === !!opts.pushTLS?.insecure &&
    !!opts.pullTLS?.insecureSkipTLSVerify === !!opts.pushTLS?.insecureSkipTLSVerify
      ? source
      : new RegistryClient({
          registry: dstRef.registry,
          ...(opts.dockerConfig ? { dockerConfig: opts.dockerConfig } : {}),
          ...(opts.pushTLS ? { tls: opts.pushTLS } : {}),
        });
  try {
    const resolved = await resolveImage(source, srcRef);
    const hits = new Set<number>();
    const files = await extractFiles(source, resolved, (p) => {
      const abs = `/${p}`;
      let any = false;
      matchers.forEach((m, i) => {
        if (m(abs)) {
          hits.add(i);
          any = true;
        }
      });
      return any;
    });
    const regular = [...files.values()].filter(
      (e): e is LayerEntry & { data: Buffer } =>
        (e.type === 'file' || e.type === 'link') && e.data !== undefined,
    );
    const missing = opts.filesToSign.filter((_, i) => !hits.has(i));
    if (missing.length > 0 || regular.length === 0) {
      throw new SignImageError(
        'NoMatch',
        `sign.filesToSign ${(missing.length ? missing : opts.filesToSign).map((m) => `"${m}"`).join(', ')} ` +
          `matched no file in ${opts.unsignedImage}; list paths that exist in the image, under dirName`,
      );
    }
    const signed: SignedFile[] = [];
    const layerFiles = [];
    for (const e of regular.sort((a, b) => a.path.localeCompare(b.path))) {
      const replaced = hasSignature(e.data);
      const data = await signModuleBytes(`/${e.path}`, e.data, opts.signer);
      layerFiles.push({ path: e.path, data, mode: e.mode & 0o7777 });
      signed.push({
        path: `/${e.path}`,
        signer: opts.signer.certificate.signer,
        replacedSignature: replaced,
      });
    }
    if (!opts.push) return { image: opts.image, signed };
    const pushed = await appendLayer({
      source: { client: source, ref: srcRef },
      target: { client: target, ref: dstRef },
      files: layerFiles,
      createdBy: `hwe kmm sign-image: signed ${signed.length} module(s)`,
      now: opts.now,
    });
    return { image: opts.image, digest: pushed.digest, signed };
  } finally {
    source.close();
    if (target !== source) target.close();
  }
}

function hasSignature(data: Buffer): boolean {
  try {
    return parseModuleSignature(data) !== undefined;
  } catch {
    return false;
  }
}
