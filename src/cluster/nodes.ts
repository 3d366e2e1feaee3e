import { randomUUID } from 'node:crypto';
import type { Taint } from '../api/core.js';
import { isKubeError, type KubeClient } from '../runtime/client.js';
import { mapLimit } from '../runtime/concurrency.js';
import { KWOK_NODE_ANNOTATION } from './local.js';

export type { Taint };

/** A simulated node: what a test or a benchmark chooses about it. */
export interface SimNodeSpec {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: Taint[];
  kernelVersion?: string;
  osImage?: string;
  /** Defaults to a fresh UUID; change it to simulate a reboot. */
  bootID?: string;
  architecture?: string;
  cpu?: string;
  memory?: string;
  pods?: string;
  /** Marks the node unschedulable (cordoned). */
  unschedulable?: boolean;
}

const DEFAULT_KERNEL = '5.14.0-284.30.1.el9_2.x86_64';
const DEFAULT_OS_IMAGE = 'Red Hat Enterprise Linux CoreOS 412.86.202302211547-0 (Ootpa)';

export interface NodeObject {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
  spec?: { taints?: Taint[]; unschedulable?: boolean };
  status?: {
    nodeInfo?: Record<string, string>;
    conditions?: { type: string; status: string }[];
    capacity?: Record<string, string>;
    allocatable?: Record<string, string>;
  };
}

/** The Node object for a simulated node; kwok (selected by annotation) makes it Ready. */
export function simNodeObject(s: SimNodeSpec): NodeObject {
  const arch = s.architecture ?? 'amd64';
  const resources = { cpu: s.cpu ?? '16', memory: s.memory ?? '64Gi', pods: s.pods ?? '250' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: s.name,
      labels: {
        'kubernetes.io/hostname': s.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': arch,
        // A kubelet still sets the beta names too; without them the controller-manager adds
        // them, one write per node.
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': arch,
        'node-role.kubernetes.io/worker': '',
        type: 'kwok',
        ...s.labels,
      },
      annotations: {
        [KWOK_NODE_ANNOTATION]: 'fake',
        'node.alpha.kubernetes.io/ttl': '0',
        ...s.annotations,
      },
    },
    spec: { taints: s.taints, unschedulable: s.unschedulable },
    status: {
      nodeInfo: {
        architecture: arch,
        bootID: s.bootID ?? randomUUID(),
        kernelVersion: s.kernelVersion ?? DEFAULT_KERNEL,
        osImage: s.osImage ?? DEFAULT_OS_IMAGE,
        operatingSystem: 'linux',
        containerRuntimeVersion: 'cri-o://1.25.2',
        kubeletVersion: 'v1.33.13',
        kubeProxyVersion: '',
        machineID: s.name,
        systemUUID: s.name,
      },
      capacity: resources,
      allocatable: resources,
    },
  };
}

/** Creates the simulated nodes (status included: the apiserver keeps a Node's status on create). */
export async function createSimNodes(
  client: KubeClient,
  specs: SimNodeSpec[],
  concurrency = 32,
): Promise<void> {
  await mapLimit(specs, concurrency, (s) =>
    client.request('/api/v1/nodes', { method: 'POST', body: simNodeObject(s) }),
  );
}

/** n nodes named `${prefix}-0000`… sharing the same other settings. */
export function simNodeSpecs(
  n: number,
  prefix = 'node',
  common: Omit<SimNodeSpec, 'name'> = {},
): SimNodeSpec[] {
  const width = Math.max(4, String(n - 1).length);
  return Array.from({ length: n }, (_, i) => ({
    ...common,
    name: `${prefix}-${String(i).padStart(width, '0')}`,
  }));
}

async function patchNodeInfo(
  client: KubeClient,
  name: string,
  nodeInfo: Record<string, string>,
): Promise<void> {
  await client.request(`/api/v1/nodes/${encodeURIComponent(name)}/status`, {
    method: 'PATCH',
    contentType: 'application/merge-patch+json',
    body: { status: { nodeInfo } },
  });
}

/** Simulates a kernel upgrade: the node comes back on another kernel, after a reboot. */
export async function upgradeKernel(
  client: KubeClient,
  name: string,
  kernelVersion: string,
  osImage?: string,
): Promise<void> {
  await patchNodeInfo(client, name, {
    kernelVersion,
    bootID: randomUUID(),
    ...(osImage ? { osImage } : {}),
  });
}

/** Simulates a reboot on the same kernel: only the boot ID changes. */
export async function rebootNode(client: KubeClient, name: string): Promise<string> {
  const bootID = randomUUID();
  await patchNodeInfo(client, name, { bootID });
  return bootID;
}

export async function deleteSimNodes(
  client: KubeClient,
  names: string[],
  concurrency = 32,
): Promise<void> {
  await mapLimit(names, concurrency, async (n) => {
    try {
      await client.request(`/api/v1/nodes/${encodeURIComponent(n)}`, { method: 'DELETE' });
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) throw e;
    }
  });
}

function isReady(n: NodeObject): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Waits until `count` nodes (matching the label selector, if any) report Ready. Returns the time it took. */
export async function waitForReadyNodes(
  client: KubeClient,
  count: number,
  opts: { labelSelector?: string; timeoutMs?: number } = {},
): Promise<number> {
  const start = Date.now();
  const deadline = start + (opts.timeoutMs ?? 120_000);
  let ready = 0;
  while (Date.now() < deadline) {
    const list = await client.request<{ items: NodeObject[] }>('/api/v1/nodes', {
      query: { labelSelector: opts.labelSelector },
    });
    ready = list.items.filter(isReady).length;
    if (ready >= count) return Date.now() - start;
    // Listing thousands of nodes is itself load on the apiserver: poll large sets less often.
    await new Promise((r) => setTimeout(r, count > 200 ? 1000 : 250));
  }
  throw new Error(
    `only ${ready} of ${count} nodes became Ready within ${(opts.timeoutMs ?? 120_000) / 1000}s`,
  );
}
