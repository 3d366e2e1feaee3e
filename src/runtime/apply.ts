import type { ResourceClient } from './api.js';
import { mergePatch } from './diff.js';
import type { KubeObject } from './objects.js';

export type OperationResult = 'created' | 'updated' | 'unchanged';

function split<T extends KubeObject>(o: T): { main: unknown; status: unknown } {
  const { status, ...main } = o as T & { status?: unknown };
  return { main, status };
}

/**
 * controller-runtime's CreateOrPatch: reads the object named by `obj`, lets `mutate` set the
 * desired state on it, and writes only if something differs — a merge patch of the
 * differences (guarded by the resourceVersion read, so concurrent writers get Conflict rather
 * than lost updates), and a separate status patch for kinds with a status subresource. If the
 * object does not exist, `mutate` is applied to `obj` and it is created.
 */
export async function createOrPatch<T extends KubeObject>(
  api: ResourceClient<T>,
  obj: T,
  mutate: (o: T) => void | Promise<void>,
): Promise<{ result: OperationResult; object: T }> {
  const { name, namespace } = obj.metadata;
  if (!name) throw new TypeError('createOrPatch: metadata.name is required');
  const current = await api.find(name, namespace);
  if (!current) {
    const fresh = structuredClone(obj);
    await mutate(fresh);
    assertSameIdentity(fresh, name, namespace);
    return { result: 'created', object: await api.create(fresh) };
  }
  const before = structuredClone(current);
  await mutate(current);
  assertSameIdentity(current, name, namespace);
  const sub = api.type.statusSubresource === true;
  const a = sub ? split(before) : { main: before, status: undefined };
  const b = sub ? split(current) : { main: current, status: undefined };
  const patch = mergePatch(a.main, b.main) as { metadata?: Record<string, unknown> } | undefined;
  const statusPatch = sub ? mergePatch({ status: a.status }, { status: b.status }) : undefined;
  let object = current;
  if (patch) {
    patch.metadata = {
      ...(patch.metadata ?? {}),
      resourceVersion: before.metadata.resourceVersion,
    };
    object = await api.patch(name, patch, { namespace });
  }
  if (statusPatch) {
    object = await api.patchStatus(name, statusPatch, { namespace });
  }
  return { result: patch || statusPatch ? 'updated' : 'unchanged', object };
}

function assertSameIdentity(o: KubeObject, name: string, namespace: string | undefined): void {
  if (o.metadata.name !== name || (o.metadata.namespace ?? '') !== (namespace ?? '')) {
    throw new TypeError(
      'createOrPatch: mutate must not change metadata.name or metadata.namespace',
    );
  }
}
