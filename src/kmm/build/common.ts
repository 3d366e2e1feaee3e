import { createHash } from 'node:crypto';
import type { BuildArg } from '../../api/index.js';
import { overrideBuildArgs } from '../kernelmapping/index.js';
import {
  ANNOTATION_IMAGE,
  ANNOTATION_LAST_HASH,
  LABEL_IMAGE_HASH,
  LABEL_MODULE_NAME,
  LABEL_POD_TYPE,
  LABEL_TARGET_KERNEL,
  type WorkType,
} from './constants.js';
import type { WorkOwner } from './types.js';

/** The build argument that receives the node's Driver Toolkit image when a Dockerfile names it. */
export const DTK_AUTO = 'DTK_AUTO';

/** True when the Dockerfile refers to DTK_AUTO (as `ARG DTK_AUTO`, `$DTK_AUTO` or `${DTK_AUTO}`). */
export function usesDtkAuto(dockerfile: string): boolean {
  return /(^|[^A-Za-z0-9_])DTK_AUTO([^A-Za-z0-9_]|$)/m.test(dockerfile);
}

/**
 * The build arguments of a build: the user's, then the ones KMM always sets (they win over a
 * user argument of the same name, as upstream), then DTK_AUTO when it was resolved.
 */
export function buildArgs(
  user: readonly BuildArg[] | undefined,
  ctx: { kernelVersion: string; moduleName: string; namespace: string; dtkImage?: string },
): BuildArg[] {
  const forced: BuildArg[] = [
    { name: 'KERNEL_VERSION', value: ctx.kernelVersion },
    { name: 'KERNEL_FULL_VERSION', value: ctx.kernelVersion },
    { name: 'MOD_NAME', value: ctx.moduleName },
    { name: 'MOD_NAMESPACE', value: ctx.namespace },
  ];
  if (ctx.dtkImage !== undefined) forced.push({ name: DTK_AUTO, value: ctx.dtkImage });
  return overrideBuildArgs(user, forced);
}

/** sha256 of a JSON value with sorted keys, hex. */
export function stableHash(value: unknown): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([, x]) => x !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, x]) => [k, canon(x)]),
      );
    }
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canon(value)))
    .digest('hex');
}

/** Short hash of an image reference, usable as a label value. */
export function imageHash(image: string): string {
  return createHash('sha256').update(image).digest('hex').slice(0, 16);
}

/** A label value from any text: characters outside [A-Za-z0-9._-] become '_', at most 63. */
export function labelValue(s: string): string {
  const v = s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63);
  return v.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}

/**
 * The name of a build or sign object: `<module>-<type>-<hash>`, a DNS-1123 label (≤ 63), so
 * that a changed build (other Dockerfile, other arguments) gets a new object and the old
 * result is never mistaken for the new one.
 */
export function workObjectName(moduleName: string, type: WorkType, hash: string): string {
  const suffix = `-${type}-${hash.slice(0, 10)}`;
  const base = moduleName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63 - suffix.length)
    .replace(/-+$/, '');
  return `${base || 'module'}${suffix}`;
}

/** Labels and annotations shared by build and sign objects. */
export function workMetadata(
  owner: WorkOwner,
  type: WorkType,
  image: string,
  kernelVersion: string,
  hash: string,
) {
  return {
    name: workObjectName(owner.moduleName, type, hash),
    namespace: owner.namespace,
    labels: {
      [LABEL_MODULE_NAME]: labelValue(owner.moduleName),
      [LABEL_TARGET_KERNEL]: labelValue(kernelVersion),
      [LABEL_POD_TYPE]: type,
      [LABEL_IMAGE_HASH]: imageHash(image),
    },
    annotations: { [ANNOTATION_LAST_HASH]: hash, [ANNOTATION_IMAGE]: image },
    ownerReferences: [{ ...owner.ownerReference, controller: true, blockOwnerDeletion: true }],
  };
}

/**
 * Where a build pushes when the image must be signed afterwards: a tag next to the final one,
 * so that the final tag only ever holds a signed image and a node never pulls the unsigned one.
 */
export function unsignedImageOf(image: string): string {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  if (colon > slash) return `${base.slice(0, colon)}:${base.slice(colon + 1)}_kmm_unsigned`;
  return `${base}:latest_kmm_unsigned`;
}

/** An image reference with its tag replaced (kanikoParams.tag). */
export function withTag(image: string, tag: string): string {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  return `${colon > slash ? base.slice(0, colon) : base}:${tag}`;
}
