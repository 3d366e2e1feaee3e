import {
  type PlatformSpec,
  type RegistryClient,
  extractFiles,
  formatReference,
  type ImageReference,
  resolveImage,
} from '../oci/index.js';
import { type ImageStream, imageForTag, parseImageStream } from './imagestream.js';

/** Where a release payload lists the images of the release. */
export const IMAGE_REFERENCES_PATH = 'release-manifests/image-references';
export const DTK_TAG = 'driver-toolkit';

export interface ReleaseImage {
  /** The release payload, by digest (of the index when it is multi-arch). */
  release: string;
  /** The tag asked for, e.g. `driver-toolkit`. */
  name: string;
  /** The image's pull spec. */
  image: string;
}

export type ReleaseProblemKind =
  | 'NoImageReferences'
  | 'InvalidImageReferences'
  | 'TagNotFound'
  /** The image has no /etc/driver-toolkit-release.json. */
  | 'NotDriverToolkit'
  | 'InvalidDriverToolkitRelease';

/** A payload that is not what a release should be; `kind` tells the cases apart. */
export class ReleaseError extends Error {
  constructor(
    readonly kind: ReleaseProblemKind,
    message: string,
  ) {
    super(message);
    this.name = 'ReleaseError';
  }
}

/** Reads the ImageStream of image references out of a release payload. */
export async function readImageReferences(
  client: RegistryClient,
  ref: ImageReference,
  opts: { platform?: PlatformSpec } = {},
): Promise<{ imageStream: ImageStream; release: string }> {
  const image = await resolveImage(client, ref, opts);
  const files = await extractFiles(client, image, [IMAGE_REFERENCES_PATH]);
  const f = files.get(IMAGE_REFERENCES_PATH);
  const release = formatReference({ ...ref, digest: image.indexDigest ?? image.digest });
  if (!f?.data) {
    throw new ReleaseError(
      'NoImageReferences',
      `${formatReference(ref)} is not a release payload: it has no /${IMAGE_REFERENCES_PATH}`,
    );
  }
  const parsed = parseImageStream(f.data.toString('utf8'), `/${IMAGE_REFERENCES_PATH}`);
  if ('problem' in parsed) throw new ReleaseError('InvalidImageReferences', parsed.problem.message);
  return { imageStream: parsed.imageStream, release };
}

/** The image a release names for `name` (like `oc adm release info --image-for=NAME`). */
export async function releaseImageFor(
  client: RegistryClient,
  ref: ImageReference,
  name: string = DTK_TAG,
  opts: { platform?: PlatformSpec } = {},
): Promise<ReleaseImage> {
  const { imageStream, release } = await readImageReferences(client, ref, opts);
  const r = imageForTag(imageStream, name);
  if ('problem' in r) {
    throw new ReleaseError(
      r.problem.kind === 'TagNotFound' ? 'TagNotFound' : 'InvalidImageReferences',
      `release ${release}: ${r.problem.message}`,
    );
  }
  return { release, name, image: r.image };
}
