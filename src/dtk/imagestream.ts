import { parse as parseYaml } from 'yaml';

/** The parts of an OpenShift ImageStream (`image.openshift.io/v1`) that name images. */
export interface ImageStream {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: {
    tags?: ImageStreamTagSpec[];
  };
  status?: {
    tags?: { tag: string; items?: { dockerImageReference?: string; image?: string }[] | null }[];
  };
}

export interface ImageStreamTagSpec {
  name: string;
  from?: { kind?: string; name?: string; namespace?: string };
  annotations?: Record<string, string> | null;
}

/** Why an ImageStream gave no image; the message names the field at fault. */
export interface ImageStreamProblem {
  kind: 'Invalid' | 'TagNotFound' | 'NoImage';
  message: string;
}

export type TagImage = { image: string } | { problem: ImageStreamProblem };

/** Parses an ImageStream document (JSON or YAML), checking the fields this package reads. */
export function parseImageStream(
  text: string,
  source: string,
): { imageStream: ImageStream } | { problem: ImageStreamProblem } {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    return {
      problem: { kind: 'Invalid', message: `${source}: not JSON or YAML: ${(e as Error).message}` },
    };
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    return { problem: { kind: 'Invalid', message: `${source}: must be an ImageStream object` } };
  }
  const is = doc as ImageStream;
  if (is.kind !== 'ImageStream') {
    return {
      problem: {
        kind: 'Invalid',
        message: `${source}: kind is "${String(is.kind)}", expected ImageStream`,
      },
    };
  }
  const tags = is.spec?.tags;
  if (tags !== undefined && tags !== null && !Array.isArray(tags)) {
    return { problem: { kind: 'Invalid', message: `${source}: spec.tags must be a list` } };
  }
  for (const [i, t] of (tags ?? []).entries()) {
    if (!t || typeof t !== 'object' || typeof t.name !== 'string' || t.name === '') {
      return {
        problem: {
          kind: 'Invalid',
          message: `${source}: spec.tags[${i}].name must be a non-empty string`,
        },
      };
    }
  }
  return { imageStream: is };
}

/**
 * The image a tag names: `from.name` of a DockerImage tag, following ImageStreamTag
 * references within the same stream (`latest` → `412.86…`), else the newest imported image
 * in status.
 */
export function imageForTag(is: ImageStream, name: string): TagImage {
  const tags = is.spec?.tags ?? [];
  const stream = is.metadata?.name;
  const seen = new Set<string>();
  let current = name;
  for (;;) {
    if (seen.has(current)) {
      return {
        problem: {
          kind: 'NoImage',
          message: `tag "${name}" refers to itself through "${current}"`,
        },
      };
    }
    seen.add(current);
    const idx = tags.findIndex((t) => t.name === current);
    const tag = tags[idx];
    const statusRef = is.status?.tags?.find((t) => t.tag === current)?.items?.[0]
      ?.dockerImageReference;
    if (!tag) {
      if (statusRef) return { image: statusRef };
      const known = tags.map((t) => t.name).join(', ');
      return {
        problem: {
          kind: 'TagNotFound',
          message: `no tag "${name}" in ImageStream ${stream ?? ''}; it has: ${known || 'no tags'}`,
        },
      };
    }
    const from = tag.from;
    const kind = from?.kind ?? 'DockerImage';
    if (from?.name && kind === 'DockerImage') return { image: from.name };
    if (from?.name && kind === 'ImageStreamTag') {
      // `stream:tag` in this stream, or a bare tag name.
      const [s, t] = from.name.includes(':') ? from.name.split(':', 2) : [stream, from.name];
      if (s === stream && !from.namespace && t) {
        current = t;
        continue;
      }
    }
    if (statusRef) return { image: statusRef };
    return {
      problem: {
        kind: 'NoImage',
        message: `spec.tags[${idx}] ("${current}") has no from.name of kind DockerImage`,
      },
    };
  }
}
