/**
 * KMM hub and spoke: the ManagedClusterModule controller of `hwe kmm hub`, and the kernel
 * ClusterClaim a spoke publishes in managed mode. See README.md.
 */
export { setupHubController, type HubOptions } from './controller.js';
export { setupKernelClaimController } from './claim.js';
export { KERNEL_VERSIONS_CLAIM, LABEL_CLUSTER, LABEL_MCM, REASONS } from './constants.js';
export {
  clusterKernels,
  hubMicName,
  kernelClaimValue,
  manifestWork,
  mcmStatus,
  pinnedImage,
  planCluster,
  selectedClusters,
  trimmedModule,
  type ClusterClaim,
  type ClusterPlan,
  type ManagedCluster,
  type ManifestWork,
} from './plan.js';
