import { type ImageStream, type ImageStreamProblem, imageForTag } from './imagestream.js';
import { quoteValue } from '../runtime/quote.js';

/** The ImageStream that holds one driver-toolkit image per RHCOS version of the cluster. */
export const DTK_IMAGESTREAM = { namespace: 'openshift', name: 'driver-toolkit' } as const;

export type NodeDtk =
  | { image: string; tag: string }
  | { problem: ImageStreamProblem | { kind: 'NoOsVersion'; message: string } };

const VERSION_TOKEN = /^\d+(?:\.\d+)+(?:-\d+)?$/;

/**
 * The OS version tokens of a node's `status.nodeInfo.osImage`, e.g. `412.86.202302211547-0` in
 * "Red Hat Enterprise Linux CoreOS 412.86.202302211547-0 (Ootpa)".
 */
export function osVersionCandidates(osImage: string): string[] {
  return osImage
    .split(/\s+/)
    .map((t) => t.replace(/^\(|\)$/g, ''))
    .filter((t) => VERSION_TOKEN.test(t));
}

/**
 * The DTK image for a node: the tag of openshift/driver-toolkit named after the RHCOS version
 * in the node's osImage. This is what fills the `DTK_AUTO` build argument.
 */
export function dtkImageForNode(is: ImageStream, osImage: string): NodeDtk {
  const versions = osVersionCandidates(osImage);
  if (versions.length === 0) {
    return {
      problem: {
        kind: 'NoOsVersion',
        message: `status.nodeInfo.osImage ${quoteValue(osImage)} holds no RHCOS version (like 412.86.202302211547-0)`,
      },
    };
  }
  const names = new Set((is.spec?.tags ?? []).map((t) => t.name));
  for (const t of is.status?.tags ?? []) names.add(t.tag);
  const tag = versions.find((v) => names.has(v));
  if (!tag) {
    const known = [...names].join(', ');
    return {
      problem: {
        kind: 'TagNotFound',
        message:
          `ImageStream ${DTK_IMAGESTREAM.namespace}/${DTK_IMAGESTREAM.name} has no tag for OS ` +
          `version ${versions.join(' or ')} (from osImage "${osImage}"); it has: ${known || 'no tags'}`,
      },
    };
  }
  const r = imageForTag(is, tag);
  return 'image' in r ? { image: r.image, tag } : r;
}
