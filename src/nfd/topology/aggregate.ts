/**
 * From what the host and the kubelet report to the zones of a NodeResourceTopology: pure
 * functions, no I/O.
 *
 * - `countedPods`: which pods count, as upstream counts them — Guaranteed pods whose CPU
 *   requests are all whole CPUs (their exclusive CPUs count), and pods with devices (their
 *   devices count); memory and huge pages pinned to NUMA nodes count for both.
 * - `aggregateZones`: one zone `node-N` of type `Node` per NUMA node, with `cpu`, `memory`,
 *   `hugepages-*` and device resources, and costs from the NUMA distance table.
 */
import type { Zone } from '../../api/nfd.js';
import { quantityValue } from '../master/node-update.js';
import type { KubeletTopologyConfig } from './kubelet-config.js';
import type {
  AllocatableResourcesResponse,
  ContainerDevices,
  ContainerMemory,
  ListPodResourcesResponse,
  TopologyInfo,
} from './podresources.js';
import type { NumaTopology } from './sysfs.js';
import { ZONE_TYPE_NODE, zoneName } from './constants.js';

/** The parts of a Pod the updater reads to tell whether it counts. */
export interface PodShape {
  metadata: { name?: string; namespace?: string };
  spec?: {
    containers?: ContainerShape[];
    initContainers?: ContainerShape[];
  };
}
interface ContainerShape {
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

/** One resource a container holds: CPU ids, device ids, or one memory block (`data` = [bytes]). */
export interface ResourceUse {
  name: string;
  data: string[];
  /** NUMA nodes of a device or memory block; empty for CPUs (looked up by id). */
  numaNodes: number[];
}

export interface PodUse {
  namespace: string;
  name: string;
  resources: ResourceUse[];
}

const QOS_RESOURCES = ['cpu', 'memory'] as const;

/** The pod's QoS class, as the kubelet computes it from requests and limits. */
export function podQOS(pod: PodShape): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const requests: Record<string, number> = {};
  const limits: Record<string, number> = {};
  let guaranteed = true;
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  for (const c of all) {
    for (const r of QOS_RESOURCES) {
      const req = quantityValue(c.resources?.requests?.[r] ?? '0') ?? 0;
      if (req > 0) requests[r] = (requests[r] ?? 0) + req;
    }
    let found = 0;
    for (const r of QOS_RESOURCES) {
      const lim = quantityValue(c.resources?.limits?.[r] ?? '0') ?? 0;
      if (lim > 0) {
        found++;
        limits[r] = (limits[r] ?? 0) + lim;
      }
    }
    if (found < QOS_RESOURCES.length) guaranteed = false;
  }
  if (!Object.keys(requests).length && !Object.keys(limits).length) return 'BestEffort';
  if (guaranteed) {
    const same =
      Object.keys(requests).length === Object.keys(limits).length &&
      Object.entries(requests).every(([r, v]) => limits[r] === v);
    if (same) return 'Guaranteed';
  }
  return 'Burstable';
}

/**
 * True when the pod is Guaranteed, some container has a CPU limit, and every container with a
 * CPU limit requests a whole number of CPUs: the CPU manager then gives it exclusive CPUs.
 */
export function hasExclusiveCPUs(pod: PodShape): boolean {
  const guaranteed = podQOS(pod) === 'Guaranteed';
  let total = 0;
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    const limit = c.resources?.limits?.cpu;
    if (limit === undefined) continue;
    total += Math.ceil(quantityValue(limit) ?? 0);
    const req = quantityValue(c.resources?.requests?.cpu ?? '0') ?? 0;
    if (!guaranteed || !Number.isInteger(req)) return false;
  }
  return total !== 0;
}

const numaIds = (t: TopologyInfo | null | undefined): number[] =>
  (t?.nodes ?? []).map((n) => Number(n.ID));

/**
 * The pods that count and what they hold. `pods` are the Pod objects of the node (by
 * `namespace/name`); a pod the kubelet lists but the API does not know is left out.
 * `namespace` is `-watch-namespace` (`*`: all).
 */
export function countedPods(
  list: ListPodResourcesResponse,
  pods: Map<string, PodShape>,
  namespace: string,
): PodUse[] {
  const out: PodUse[] = [];
  for (const pr of list.pod_resources ?? []) {
    if (namespace !== '*' && pr.namespace !== namespace) continue;
    const pod = pods.get(`${pr.namespace}/${pr.name}`);
    if (!pod) continue;
    const hasDevice = (pr.containers ?? []).some((c) => (c.devices ?? []).length > 0);
    const exclusive = hasExclusiveCPUs(pod);
    if (!exclusive && !hasDevice) continue;
    const resources: ResourceUse[] = [];
    for (const c of pr.containers ?? []) {
      if (exclusive && c.cpu_ids?.length)
        resources.push({ name: 'cpu', data: c.cpu_ids.map(String), numaNodes: [] });
      for (const d of c.devices ?? [])
        resources.push({
          name: d.resource_name,
          data: d.device_ids,
          numaNodes: numaIds(d.topology),
        });
      for (const m of c.memory ?? []) {
        if (!m.size) continue;
        resources.push({
          name: m.memory_type,
          data: [String(m.size)],
          numaNodes: numaIds(m.topology),
        });
      }
    }
    if (resources.length) out.push({ namespace: pr.namespace, name: pr.name, resources });
  }
  return out;
}

/**
 * What the kubelet would report as allocatable when it cannot be asked (a kubelet without
 * GetAllocatableResources): every CPU but `reservedSystemCPUs` when the CPU manager is static,
 * and each node's memory and huge pages less `reservedMemory` when the memory manager is
 * Static. Devices are not known then.
 */
export function allocatableFromConfig(
  topo: NumaTopology,
  cfg: KubeletTopologyConfig,
): AllocatableResourcesResponse {
  const reserved = new Set(cfg.reservedSystemCPUs);
  const cpu_ids =
    cfg.cpuManagerPolicy === 'static'
      ? topo.nodes.flatMap((n) => n.cpus).filter((c) => !reserved.has(c))
      : [];
  const memory: ContainerMemory[] = [];
  if (cfg.memoryManagerPolicy === 'Static') {
    for (const n of topo.nodes) {
      const held = cfg.reservedMemory.get(n.id) ?? {};
      for (const [name, bytes] of Object.entries(n.memory)) {
        const size = Math.max(0, bytes - (held[name] ?? 0));
        memory.push({ memory_type: name, size, topology: { nodes: [{ ID: n.id }] } });
      }
    }
  }
  return { devices: [], cpu_ids, memory };
}

const SI = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/** A count as Kubernetes writes a decimal quantity: `16`, `1k` for 1000, `2M`, `17179869184`. */
export function decimalSI(n: number): string {
  let v = n;
  let i = 0;
  while (v !== 0 && v % 1000 === 0 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v}${SI[i]}`;
}

interface Amounts {
  capacity: number;
  allocatable: number;
  available: number;
}

const isMemory = (name: string) => name === 'memory' || name.startsWith('hugepages-');

/**
 * The zones, sorted by NUMA id, resources by name. Capacity: CPUs of the node (allocatable and
 * reserved), memory and huge pages from sysfs, devices as allocatable. Resources in `exclude`
 * are left out. A NUMA node the kubelet gives nothing to has only `cpu`, all of it reserved.
 */
export function aggregateZones(a: {
  topology: NumaTopology;
  allocatable: AllocatableResourcesResponse;
  pods: PodUse[];
  exclude?: ReadonlySet<string>;
}): Zone[] {
  const { topology } = a;
  const exclude = a.exclude ?? new Set<string>();
  const cpuNode = new Map<number, number>();
  for (const n of topology.nodes) for (const c of n.cpus) cpuNode.set(c, n.id);

  // Allocatable per node and resource; where each CPU/device id lives.
  const alloc = new Map<number, Map<string, number>>();
  const idNode = new Map<string, Map<string, number>>();
  const add = (node: number, name: string, n: number) => {
    const m = alloc.get(node) ?? new Map<string, number>();
    m.set(name, (m.get(name) ?? 0) + n);
    alloc.set(node, m);
  };
  const locate = (name: string, id: string, node: number) => {
    const m = idNode.get(name) ?? new Map<string, number>();
    m.set(id, node);
    idNode.set(name, m);
  };
  const allocatableCPUs = new Set<number>();
  for (const c of a.allocatable.cpu_ids ?? []) {
    const node = cpuNode.get(Number(c));
    if (node === undefined) continue;
    allocatableCPUs.add(Number(c));
    add(node, 'cpu', 1);
    locate('cpu', String(c), node);
  }
  for (const d of a.allocatable.devices ?? ([] as ContainerDevices[])) {
    for (const node of numaIds(d.topology)) {
      add(node, d.resource_name, d.device_ids.length);
      for (const id of d.device_ids) locate(d.resource_name, id, node);
    }
  }
  for (const m of a.allocatable.memory ?? []) {
    for (const node of numaIds(m.topology)) add(node, m.memory_type, Number(m.size));
  }

  const zones = new Map<number, Map<string, Amounts>>();
  for (const n of topology.nodes) {
    const reservedCPUs = n.cpus.filter((c) => !allocatableCPUs.has(c)).length;
    const res = new Map<string, Amounts>();
    const given = alloc.get(n.id);
    if (!given) {
      res.set('cpu', { capacity: reservedCPUs, allocatable: 0, available: 0 });
    } else {
      for (const [name, allocatable] of given) {
        if (exclude.has(name)) continue;
        const capacity =
          name === 'cpu'
            ? allocatable + reservedCPUs
            : isMemory(name)
              ? (n.memory[name] ?? allocatable)
              : allocatable;
        res.set(name, { capacity, allocatable, available: allocatable });
      }
    }
    zones.set(n.id, res);
  }

  for (const pod of a.pods) {
    for (const r of pod.resources) {
      if (isMemory(r.name)) {
        // A block spread over several nodes is taken from them in the order listed.
        let left = r.data.length === 1 ? Number(r.data[0]) : 0;
        for (const node of r.numaNodes) {
          if (!(left > 0)) break;
          const amt = zones.get(node)?.get(r.name);
          if (!amt || amt.available === 0) continue;
          const take = Math.min(left, amt.available);
          amt.available -= take;
          left -= take;
        }
        continue;
      }
      const where = idNode.get(r.name);
      for (const id of r.data) {
        const node = where?.get(id);
        const amt = node === undefined ? undefined : zones.get(node)?.get(r.name);
        if (amt) amt.available--;
      }
    }
  }

  const byId = new Map(topology.nodes.map((n) => [n.id, n]));
  return [...zones.entries()]
    .sort(([x], [y]) => x - y)
    .map(([id, res]) => ({
      name: zoneName(id),
      type: ZONE_TYPE_NODE,
      costs: (byId.get(id)?.distances ?? []).map((value, to) => ({ name: zoneName(to), value })),
      resources: [...res.entries()]
        .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
        .map(([name, v]) => ({
          name,
          capacity: decimalSI(v.capacity),
          allocatable: decimalSI(v.allocatable),
          available: decimalSI(v.available),
        })),
    }));
}
