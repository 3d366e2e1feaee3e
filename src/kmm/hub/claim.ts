/**
 * Managed (spoke) mode: publishes the kernels the cluster's nodes run as the ClusterClaim
 * `kernel-versions.kmm.node.kubernetes.io`, which OCM's registration agent copies into the
 * cluster's ManagedCluster on the hub, where KMM-Hub reads it.
 */
import { ClusterClaims } from '../../api/index.js';
import { createOrPatch, type Manager, type ResourceType } from '../../runtime/index.js';
import { nodeKernel, trimNode } from '../module/nodes.js';
import { KmmNodes, nodeHeartbeatFilter } from '../nmc/controller.js';
import { KERNEL_VERSIONS_CLAIM } from './constants.js';
import { kernelClaimValue, type ClusterClaim } from './plan.js';

const Claims = ClusterClaims as ResourceType<ClusterClaim>;

/** Registers the controller that keeps the kernel-versions ClusterClaim up to date. */
export function setupKernelClaimController(mgr: Manager): void {
  const nodes = mgr.informers.informer(KmmNodes, { transform: trimNode });
  const api = mgr.api(Claims);
  const key = [{ name: KERNEL_VERSIONS_CLAIM }];
  mgr
    .controller('kmm-kernel-claim')
    .for(Claims, { informer: { fieldSelector: `metadata.name=${KERNEL_VERSIONS_CLAIM}` } })
    .watches(KmmNodes, () => key, {
      predicates: [nodeHeartbeatFilter],
      informer: { transform: trimNode },
    })
    .complete(async (req) => {
      if (req.name !== KERNEL_VERSIONS_CLAIM) return;
      const value = kernelClaimValue(
        nodes.list().flatMap((n) => {
          const k = nodeKernel(n);
          return k ? [k] : [];
        }),
      );
      await createOrPatch(
        api,
        { metadata: { name: KERNEL_VERSIONS_CLAIM }, spec: { value: '' } },
        (c: ClusterClaim) => {
          c.spec = { value };
        },
      );
    });
}
