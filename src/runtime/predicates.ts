import type { KubeObject } from './objects.js';

/** Filters events before they reach a work queue; a missing function lets the event through. */
export interface Predicate<T extends KubeObject = KubeObject> {
  create?(obj: T): boolean;
  update?(oldObj: T, newObj: T): boolean;
  delete?(obj: T): boolean;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Updates that change metadata.generation (the spec), as controller-runtime's. */
export const generationChanged: Predicate = {
  update: (o, n) => o.metadata.generation !== n.metadata.generation,
};

export const labelsChanged: Predicate = {
  update: (o, n) => !sameJson(o.metadata.labels, n.metadata.labels),
};

export const annotationsChanged: Predicate = {
  update: (o, n) => !sameJson(o.metadata.annotations, n.metadata.annotations),
};

/** Updates that change the set of finalizers or set a deletion timestamp. */
export const deletionOrFinalizersChanged: Predicate = {
  update: (o, n) =>
    o.metadata.deletionTimestamp !== n.metadata.deletionTimestamp ||
    !sameJson(o.metadata.finalizers, n.metadata.finalizers),
};

/** Objects whose labels include all of `labels`. */
export function hasLabels<T extends KubeObject>(labels: Record<string, string>): Predicate<T> {
  const ok = (o: T) => Object.entries(labels).every(([k, v]) => o.metadata.labels?.[k] === v);
  return { create: ok, update: (_o, n) => ok(n), delete: ok };
}

/** All of the predicates must pass (none at all lets everything through). */
export function and<T extends KubeObject>(...ps: Predicate<T>[]): Required<Predicate<T>> {
  return {
    create: (o) => ps.every((p) => p.create?.(o) ?? true),
    update: (o, n) => ps.every((p) => p.update?.(o, n) ?? true),
    delete: (o) => ps.every((p) => p.delete?.(o) ?? true),
  };
}

/** Any one of the predicates passing is enough. */
export function or<T extends KubeObject>(...ps: Predicate<T>[]): Required<Predicate<T>> {
  return {
    create: (o) => ps.some((p) => p.create?.(o) ?? true),
    update: (o, n) => ps.some((p) => p.update?.(o, n) ?? true),
    delete: (o) => ps.some((p) => p.delete?.(o) ?? true),
  };
}

export interface NodeLike extends KubeObject {
  spec?: unknown;
  status?: {
    nodeInfo?: unknown;
    conditions?: { type: string; status?: string; reason?: string }[];
  };
}

/**
 * Node updates other than heartbeats. kubelet rewrites a Node every few seconds to refresh
 * condition heartbeat times, images and resource figures; a controller that acts on node
 * identity, kernel or readiness must not wake up for those. This lets an update through when
 * the labels, annotations, taints or other spec, status.nodeInfo (kernel, OS image, boot ID), or
 * the Ready condition's status/reason change — the filter of KMM 2.4's node machine
 * configuration controller — or when the node starts being deleted.
 */
export const nodeChangedBeyondHeartbeat: Predicate<NodeLike> = {
  update(o, n) {
    if (o.metadata.deletionTimestamp !== n.metadata.deletionTimestamp) return true;
    if (!sameJson(o.metadata.labels, n.metadata.labels)) return true;
    if (!sameJson(o.metadata.annotations, n.metadata.annotations)) return true;
    if (!sameJson(o.spec, n.spec)) return true;
    if (!sameJson(o.status?.nodeInfo, n.status?.nodeInfo)) return true;
    const ready = (x: NodeLike) => {
      const c = x.status?.conditions?.find((c) => c.type === 'Ready');
      return c ? `${c.status ?? ''}/${c.reason ?? ''}` : '';
    };
    return ready(o) !== ready(n);
  },
};
