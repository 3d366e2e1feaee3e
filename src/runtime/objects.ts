/** The parts of Kubernetes objects that the runtime itself reads and writes. */

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** The cache key of an object: "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(o: { metadata: ObjectMeta }): string {
  const { namespace, name } = o.metadata;
  return namespace ? `${namespace}/${name ?? ''}` : (name ?? '');
}

export interface NamespacedName {
  namespace?: string;
  name: string;
}

export function keyOf(n: NamespacedName): string {
  return n.namespace ? `${n.namespace}/${n.name}` : n.name;
}

export function parseKey(key: string): NamespacedName {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Whether `v` is a map (a JSON object): not null, not a list. */
export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
