/**
 * Names that are part of nfd-topology-updater's contract, spelled as upstream spells them.
 */

/** Zone type of a NUMA node. */
export const ZONE_TYPE_NODE = 'Node';

/** `node-0`, `node-1`, …: the zone of NUMA node `id`. */
export const zoneName = (id: number): string => `node-${id}`;

/** Node-wide attributes of the NodeResourceTopology. */
export const ATTR_TOPOLOGY_MANAGER_POLICY = 'topologyManagerPolicy';
export const ATTR_TOPOLOGY_MANAGER_SCOPE = 'topologyManagerScope';

/** Field manager of the server-side apply that writes the object. */
export const FIELD_MANAGER = 'nfd-topology-updater';

/** Flag defaults, as upstream's (and the seed's) manifests expect them. */
export const DEFAULT_KUBELET_CONFIG_FILE = '/host-var/lib/kubelet/config.yaml';
export const DEFAULT_PODRESOURCES_SOCKET = '/host-var/lib/kubelet/pod-resources/kubelet.sock';
export const DEFAULT_KUBELET_STATE_DIR = '/host-var/lib/kubelet';
export const DEFAULT_CONFIG_FILE =
  '/etc/kubernetes/node-feature-discovery/nfd-topology-updater.conf';
export const DEFAULT_SLEEP_INTERVAL = '60s';
export const DEFAULT_WATCH_NAMESPACE = '*';

/**
 * Files in the kubelet's state directory that change when resources are given to or taken
 * back from pods: the CPU, memory and device managers' checkpoints.
 */
export const KUBELET_STATE_FILES = [
  'cpu_manager_state',
  'memory_manager_state',
  'dra_manager_state',
  'device-plugins/kubelet_internal_checkpoint',
];

/**
 * The deprecated `topologyPolicies` value for a topology manager policy and scope
 * (e.g. single-numa-node + container → SingleNUMANodeContainerLevel).
 */
export function topologyPolicy(policy: string, scope: string): string {
  const level = scope === 'pod' ? 'PodLevel' : scope === 'container' ? 'ContainerLevel' : '';
  const base: Record<string, string> = {
    'single-numa-node': 'SingleNUMANode',
    restricted: 'Restricted',
    'best-effort': 'BestEffort',
  };
  return level && base[policy] ? `${base[policy]}${level}` : 'None';
}
