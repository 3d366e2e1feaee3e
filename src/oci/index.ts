/**
 * An OCI distribution client without Docker: references, credentials from pull secrets,
 * manifests and indexes, verified blobs, uploads and mounts, and image layers.
 */
export * from './auth.js';
export * from './authfile.js';
export * from './client.js';
export * from './digest.js';
export * from './errors.js';
export * from './image.js';
export * from './layer.js';
export * from './platform.js';
export * from './reference.js';
export {
  MODULE_REGISTRY_SETTINGS,
  type RegistryTLS,
  type RegistrySettingNames,
} from './transport.js';
export * from './types.js';
