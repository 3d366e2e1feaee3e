/** Labels and annotations of build and sign objects; spelled as upstream KMM spells them. */
export const LABEL_MODULE_NAME = 'kmm.node.kubernetes.io/module.name';
export const LABEL_TARGET_KERNEL = 'kmm.node.kubernetes.io/target-kernel';
export const LABEL_POD_TYPE = 'kmm.node.kubernetes.io/pod-type';
/** sha256 (truncated) of the image the object produces: finds the objects of one image. */
export const LABEL_IMAGE_HASH = 'kmm.node.kubernetes.io/image-hash';
/** sha256 of the rendered object: a different hash means a different build or sign. */
export const ANNOTATION_LAST_HASH = 'kmm.node.kubernetes.io/last-hash';
/** The image the object produces, in full (labels cannot hold it). */
export const ANNOTATION_IMAGE = 'kmm.node.kubernetes.io/image';

export type WorkType = 'build' | 'sign';

/** Where the build context and secrets go; the paths kaniko and Dockerfiles expect. */
export const WORKSPACE = '/workspace';
export const KANIKO_DOCKER_CONFIG = '/kaniko/.docker';
export const BUILD_SECRETS_DIR = '/run/secrets';
