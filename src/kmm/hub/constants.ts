/**
 * Names the KMM hub and its spokes share with Open Cluster Management and upstream KMM, spelled
 * as upstream spells them.
 */

/** The ClusterClaim a spoke in managed mode publishes: its nodes' kernels, sorted, one a line. */
export const KERNEL_VERSIONS_CLAIM = 'kernel-versions.kmm.node.kubernetes.io';

/** On the hub's ModuleImagesConfigs: the ManagedClusterModule they build for. */
export const LABEL_MCM = 'hub.kmm.sigs.x-k8s.io/managedclustermodule';
/** On the hub's ModuleImagesConfigs and ManifestWorks: the managed cluster they are for. */
export const LABEL_CLUSTER = 'hub.kmm.sigs.x-k8s.io/managedcluster';

/** ManifestWork status conditions (work.open-cluster-management.io/v1) the status counts. */
export const WORK_APPLIED = 'Applied';
export const WORK_DEGRADED = 'Degraded';

/** Events on the ManagedClusterModule. */
export const REASONS = {
  /** A selected cluster has not published its kernels yet. */
  KernelsUnknown: 'KernelsUnknown',
  /** No kernel mapping for a kernel a selected cluster runs. */
  NoKernelMapping: 'NoKernelMapping',
  /** moduleSpec cannot be mapped (bad regexp, no moduleLoader…). */
  InvalidModule: 'InvalidModule',
  /** The registry could not tell an image's digest. */
  DigestUnknown: 'DigestUnknown',
  ManifestWorkApplied: 'ManifestWorkApplied',
  ManifestWorkDeleted: 'ManifestWorkDeleted',
} as const;
