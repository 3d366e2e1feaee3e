import { type SecretLike, dockerConfigFromSecret, mergeDockerConfigs } from './auth.js';
import { RegistryClient, type FetchedManifest } from './client.js';
import { verifyDigest } from './digest.js';
import { OciError, isOciError } from './errors.js';
import {
  type BuiltLayer,
  type LayerEntry,
  type LayerFile,
  TopDownMerge,
  buildLayer,
  readLayer,
} from './layer.js';
import { type PlatformSpec, formatPlatform, hostPlatform, selectPlatform } from './platform.js';
import {
  type ImageReference,
  formatReference,
  manifestTarget,
  parseReference,
} from './reference.js';
import type { RegistryTLS } from './transport.js';
import {
  type Descriptor,
  type HistoryEntry,
  type ImageConfig,
  type ImageManifest,
  MediaType,
} from './types.js';

/** A single-platform image: its manifest and config, resolved through an index if needed. */
export interface ResolvedImage {
  ref: ImageReference;
  /** Digest of the platform's manifest. */
  digest: string;
  /** Digest of the index the reference named, when it named one. */
  indexDigest?: string;
  mediaType: string;
  manifest: ImageManifest;
  config: ImageConfig;
}

/**
 * Fetches an image's manifest (choosing the platform's entry of an index) and its config.
 * The platform defaults to this machine's.
 */
export async function resolveImage(
  client: RegistryClient,
  ref: ImageReference,
  opts: { platform?: PlatformSpec } = {},
): Promise<ResolvedImage> {
  const repo = ref.repository;
  let m: FetchedManifest = await client.getManifest(repo, manifestTarget(ref));
  let indexDigest: string | undefined;
  if (m.kind === 'index') {
    const platform = opts.platform ?? hostPlatform();
    const chosen = selectPlatform(m.index.manifests, platform);
    if (!chosen) {
      const offered = m.index.manifests
        .filter((d) => d.platform)
        .map((d) => formatPlatform(d.platform!))
        .join(', ');
      throw new OciError(
        'NoMatchingPlatform',
        `${formatReference(ref)} has no image for ${formatPlatform(platform)}; it offers ${offered || 'none'}`,
      );
    }
    indexDigest = m.digest;
    m = await client.getManifest(repo, chosen.digest);
    if (m.kind !== 'manifest') {
      throw new OciError(
        'InvalidContent',
        `index ${indexDigest} points to another index ${chosen.digest}`,
      );
    }
  }
  const manifest = m.manifest;
  const configBytes = await client.getBlob(repo, manifest.config.digest, manifest.config.size);
  let config: ImageConfig;
  try {
    config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  } catch {
    throw new OciError('InvalidContent', `config ${manifest.config.digest} is not JSON`);
  }
  if (!config || typeof config !== 'object' || !Array.isArray(config.rootfs?.diff_ids)) {
    throw new OciError('InvalidContent', `config ${manifest.config.digest} has no rootfs.diff_ids`);
  }
  const out: ResolvedImage = { ref, digest: m.digest, mediaType: m.mediaType, manifest, config };
  if (indexDigest) out.indexDigest = indexDigest;
  return out;
}

/** Which files to extract: exact paths (reading stops once all are settled) or a predicate. */
export type FileSelection = string[] | ((path: string) => boolean);

/**
 * The files of an image that a container would see, for the selected paths: layers are read
 * from the top down and whiteouts honoured. Regular files come with their data; hard links
 * are resolved to their target's data; symlinks are returned as links.
 */
export async function extractFiles(
  client: RegistryClient,
  image: ResolvedImage,
  select: FileSelection,
): Promise<Map<string, LayerEntry>> {
  const exact = Array.isArray(select)
    ? new Set(select.map((p) => p.replace(/^\/+/, '')))
    : undefined;
  const want = exact ? (p: string) => exact.has(p) : (select as (p: string) => boolean);
  const layers = image.manifest.layers;
  const merge = new TopDownMerge();
  const readAt = async (
    i: number,
    keep: (p: string) => boolean,
    onEntry: (e: LayerEntry) => void,
  ) => {
    const d = layers[i]!;
    const stream = await client.openBlob(image.ref.repository, d.digest, d.size);
    for await (const e of readLayer(stream, keep)) onEntry(e);
  };
  for (let i = layers.length - 1; i >= 0; i--) {
    if (exact && [...exact].every((p) => merge.settled(p))) break;
    await readAt(i, want, (e) => merge.add(e));
    merge.endLayer();
  }
  const out = new Map<string, LayerEntry>();
  for (const [path, e] of merge.files) {
    if (!want(path)) continue;
    const { layer: top, ...entry } = e;
    if (entry.type === 'link' && entry.linkname !== undefined) {
      const target = entry.linkname;
      const known = merge.files.get(target);
      if (known?.data) entry.data = known.data;
      else {
        // The link's target was not selected: read it from the link's own layer.
        await readAt(
          layers.length - 1 - top,
          (p) => p === target,
          (t) => {
            if (t.path === target && t.data) entry.data = t.data;
          },
        );
      }
    }
    out.set(path, entry);
  }
  return out;
}

/** Copies a blob between repositories: nothing if present, a mount within a registry, else a stream. */
export async function copyBlob(
  from: { client: RegistryClient; repo: string },
  to: { client: RegistryClient; repo: string },
  blob: Descriptor,
): Promise<'present' | 'mounted' | 'copied'> {
  if (from.client.registry === to.client.registry && from.repo === to.repo) return 'present';
  if (await to.client.hasBlob(to.repo, blob.digest)) return 'present';
  if (from.client.registry === to.client.registry) {
    if (await to.client.mountBlob(to.repo, blob.digest, from.repo)) return 'mounted';
  }
  const stream = await from.client.openBlob(from.repo, blob.digest, blob.size);
  await to.client.uploadBlobStream(to.repo, blob, stream);
  return 'copied';
}

export interface AppendLayerOptions {
  source: { client: RegistryClient; ref: ImageReference };
  target: { client: RegistryClient; ref: ImageReference };
  files: LayerFile[];
  platform?: PlatformSpec;
  /** Recorded in the config's history. */
  createdBy?: string;
  comment?: string;
  /** Clock for the config's `created` and history timestamps. */
  now?: () => Date;
  /** Upload the new layer in PATCH chunks of this size. */
  chunkSize?: number;
}

export interface AppendLayerResult {
  /** Digest of the pushed manifest. */
  digest: string;
  /** The pushed image, by tag and digest. */
  reference: string;
  layer: BuiltLayer;
  /** What happened to each layer of the source image in the target repository. */
  blobs: Record<string, 'present' | 'mounted' | 'copied'>;
}

/**
 * Pulls an image, adds one layer with the given files on top, and pushes the result under the
 * target reference (the same or another repository or registry): the signing job replaces
 * `.ko` files this way. An index is resolved to one platform; the result is a single manifest
 * of the same flavour (OCI or Docker) as the source.
 */
export async function appendLayer(opts: AppendLayerOptions): Promise<AppendLayerResult> {
  const { source, target } = opts;
  const now = (opts.now ?? (() => new Date()))().toISOString();
  const image = await resolveImage(source.client, source.ref, { platform: opts.platform });
  const layer = await buildLayer(opts.files);

  const config: ImageConfig = structuredClone(image.config);
  const oldDiffIds = config.rootfs.diff_ids;
  config.rootfs = { type: 'layers', diff_ids: [...oldDiffIds, layer.diffId] };
  // History lines up with non-empty layers; if the source kept none, give earlier layers blanks.
  const history: HistoryEntry[] = config.history
    ? [...config.history]
    : oldDiffIds.map(() => ({ created_by: '' }));
  const entry: HistoryEntry = {
    created: now,
    created_by: opts.createdBy ?? `hwe: add ${opts.files.length} file(s)`,
  };
  if (opts.comment) entry.comment = opts.comment;
  config.history = [...history, entry];
  config.created = now;
  const configBytes = Buffer.from(JSON.stringify(config));

  const repo = target.ref.repository;
  const blobs: AppendLayerResult['blobs'] = {};
  for (const d of image.manifest.layers) {
    blobs[d.digest] = await copyBlob(
      { client: source.client, repo: source.ref.repository },
      { client: target.client, repo },
      d,
    );
  }
  await target.client.uploadBlob(repo, layer.blob, { chunkSize: opts.chunkSize });
  const configRef = await target.client.uploadBlob(repo, configBytes);

  const docker = image.mediaType === MediaType.DockerManifest;
  const manifest: ImageManifest = {
    ...image.manifest,
    schemaVersion: 2,
    mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest,
    config: { ...image.manifest.config, digest: configRef.digest, size: configRef.size },
    layers: [
      ...image.manifest.layers,
      {
        mediaType: docker ? MediaType.DockerLayerGzip : MediaType.OciLayerGzip,
        digest: layer.digest,
        size: layer.blob.length,
      },
    ],
  };
  // A subject would claim the new image is an artifact about the old one; it is not.
  delete manifest.subject;
  const bytes = Buffer.from(JSON.stringify(manifest));
  const tagOrDigest = target.ref.tag ?? target.ref.digest;
  if (!tagOrDigest) {
    throw new OciError('InvalidReference', `target ${formatReference(target.ref)} needs a tag`);
  }
  if (target.ref.digest && !target.ref.tag)
    verifyDigest('target manifest', target.ref.digest, bytes);
  const digest = await target.client.putManifest(repo, tagOrDigest, bytes, manifest.mediaType!);
  const reference = formatReference({ ...target.ref, digest });
  return { digest, reference, layer, blobs };
}

/** The answer to "can this image be pulled?", in the terms the KMM controllers act on. */
export type ImageExistence =
  | { state: 'Exists'; digest: string; mediaType: string }
  /** 404: build or sign it. */
  | { state: 'NotFound'; error: OciError }
  /** 401/403 or refused credentials: report; building would not help. */
  | { state: 'Unauthorized'; error: OciError }
  /** No answer or TLS failure: retry later. */
  | { state: 'Unreachable'; error: OciError }
  | { state: 'Error'; error: OciError };

/** HEAD of the image's manifest, with failures told apart (see ImageExistence). */
export async function imageExists(
  client: RegistryClient,
  ref: ImageReference,
): Promise<ImageExistence> {
  try {
    const m = await client.headManifest(ref.repository, manifestTarget(ref));
    return { state: 'Exists', digest: m.digest, mediaType: m.mediaType };
  } catch (e) {
    if (!isOciError(e)) throw e;
    switch (e.kind) {
      case 'NotFound':
        return { state: 'NotFound', error: e };
      case 'Unauthorized':
        return { state: 'Unauthorized', error: e };
      case 'Unreachable':
      case 'TLS':
        return { state: 'Unreachable', error: e };
      default:
        return { state: 'Error', error: e };
    }
  }
}

/** What a Module gives for reaching an image: its `registryTLS` and its pull secrets. */
export interface ImageAccess {
  tls?: RegistryTLS;
  /** Pull secrets (`imageRepoSecret`, service account secrets); later ones win per key. */
  pullSecrets?: SecretLike[];
  timeoutMs?: number;
}

/**
 * Parses an image reference and opens a client for its registry with the Module's TLS
 * settings and pull secrets. The caller closes the client.
 */
export function openImage(image: string, access: ImageAccess = {}): OpenedImage {
  const ref = parseReference(image);
  const dockerConfig = mergeDockerConfigs(
    ...(access.pullSecrets ?? []).map(dockerConfigFromSecret),
  );
  const client = new RegistryClient({
    registry: ref.registry,
    dockerConfig,
    ...(access.tls ? { tls: access.tls } : {}),
    ...(access.timeoutMs ? { timeoutMs: access.timeoutMs } : {}),
  });
  return { ref, client };
}

export interface OpenedImage {
  ref: ImageReference;
  client: RegistryClient;
}
