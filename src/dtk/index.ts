/** Driver Toolkit: finding the DTK image of a release payload or of a node. */
export * from './imagestream.js';
export * from './node.js';
export * from './cluster.js';
export * from './dtk-release.js';
export * from './release.js';
export { imageCommand, EXIT_TAG_NOT_FOUND } from './image-command.js';
