import type { Toleration } from '../../api/index.js';
import type { KubeObject } from '../../runtime/index.js';

/** The parts of a Node the KMM controllers read. */
export interface KmmNode extends KubeObject {
  spec?: {
    unschedulable?: boolean;
    taints?: { key: string; value?: string; effect: string }[];
  };
  status?: {
    nodeInfo?: { kernelVersion?: string; bootID?: string; [k: string]: unknown };
    conditions?: { type: string; status?: string; reason?: string }[];
  };
}

/**
 * Drops what no KMM controller reads (annotations, images, addresses, heartbeat details) from
 * cached Nodes.
 */
export function trimNode<T extends KmmNode>(n: T): T {
  const status = n.status;
  const m = n.metadata;
  const slim: KmmNode = {
    apiVersion: n.apiVersion,
    kind: n.kind,
    metadata: {
      name: m.name,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      labels: m.labels,
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
    },
    spec: n.spec ? { unschedulable: n.spec.unschedulable, taints: n.spec.taints } : undefined,
    status: status
      ? {
          nodeInfo: status.nodeInfo
            ? { kernelVersion: status.nodeInfo.kernelVersion, bootID: status.nodeInfo.bootID }
            : undefined,
          conditions: status.conditions
            ?.filter((c) => c.type === 'Ready')
            .map((c) => ({ type: c.type, status: c.status, reason: c.reason })),
        }
      : undefined,
  };
  return slim as T;
}

export function isNodeReady(n: KmmNode): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The kernel as KMM maps it: upstream trims a trailing `+` (locally built kernels). */
export function nodeKernel(n: KmmNode): string | undefined {
  const k = n.status?.nodeInfo?.kernelVersion;
  return k ? k.replace(/\+$/, '') : undefined;
}

/** Every selector label present with the same value (an empty selector matches all nodes). */
export function matchesSelector(n: KmmNode, selector: Record<string, string>): boolean {
  const labels = n.metadata.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** core/v1 Toleration.ToleratesTaint. */
export function tolerates(
  t: Toleration,
  taint: { key: string; value?: string; effect: string },
): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/**
 * Taints the node lifecycle controller sets for passing conditions (and cordoning). Like
 * DaemonSet pods, modules tolerate them: a node that misses a heartbeat under load, or is
 * cordoned for maintenance, must not have its driver unloaded.
 */
export const BUILT_IN_TOLERATED_TAINTS: ReadonlySet<string> = new Set([
  'node.kubernetes.io/not-ready',
  'node.kubernetes.io/unreachable',
  'node.kubernetes.io/disk-pressure',
  'node.kubernetes.io/memory-pressure',
  'node.kubernetes.io/pid-pressure',
  'node.kubernetes.io/network-unavailable',
  'node.kubernetes.io/unschedulable',
]);

/**
 * Whether the Module's pods may run on the node: every NoSchedule or NoExecute taint tolerated
 * by the Module's tolerations or built in (above). PreferNoSchedule taints never keep a module
 * away.
 */
export function isSchedulable(n: KmmNode, tolerations: readonly Toleration[] = []): boolean {
  return (n.spec?.taints ?? []).every(
    (taint) =>
      taint.effect === 'PreferNoSchedule' ||
      BUILT_IN_TOLERATED_TAINTS.has(taint.key) ||
      tolerations.some((t) => tolerates(t, taint)),
  );
}
