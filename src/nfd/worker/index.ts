/**
 * nfd-worker: feature discovery on the host, configuration, NodeFeature publishing.
 */
export { workerCommand } from './command.js';
export {
  buildConfig,
  ConfigError,
  defaultConfig,
  parseConfigText,
  type FlagOverrides,
  type WorkerConfig,
} from './config.js';
export {
  buildNodeFeature,
  discover,
  NODE_NAME_LABEL,
  type DiscoveryResult,
  type NodeFeatureObject,
} from './discover.js';
export { resolveHostPaths, type HostPaths } from './hostfs.js';
export { registerSource, type DiscoverContext, type FeatureSource } from './source.js';
export type { Features } from './types.js';
export { loadConfig, runWorker, type WorkerOptions } from './worker.js';
