/**
 * nfd-topology-updater: NodeResourceTopology objects from sysfs, the kubelet's configuration
 * and its pod-resources API.
 */
export { topologyUpdaterCommand } from './command.js';
export {
  aggregateZones,
  allocatableFromConfig,
  countedPods,
  hasExclusiveCPUs,
  podQOS,
  type PodShape,
  type PodUse,
} from './aggregate.js';
export { parseExcludeList, readExcludeList, TopologyConfigError } from './config.js';
export * from './constants.js';
export {
  KubeletConfigError,
  parseKubeletConfig,
  readKubeletConfig,
  type KubeletTopologyConfig,
} from './kubelet-config.js';
export {
  PODRESOURCES_PROTO,
  PROTO_LOADER_OPTIONS,
  PROTO_ROOT,
  PodResourcesError,
  podResourcesClient,
  type AllocatableResourcesResponse,
  type ListPodResourcesResponse,
  type PodResourcesClient,
} from './podresources.js';
export { applyNodeResourceTopology, listNodePods } from './publish.js';
export { parseCpuList, readNumaTopology, SysfsError, type NumaTopology } from './sysfs.js';
export { buildNodeResourceTopology, runTopologyUpdater, type UpdaterOptions } from './updater.js';
