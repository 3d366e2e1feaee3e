/** What the KMM controllers share: contract names, node and worker-pod views, informers. */
export * from './labels.js';
export * from './nodes.js';
export * from './names.js';
export * from './loaded.js';
export * from './security.js';
export * from './worker-pod.js';
export * from './informers.js';
