import type { ResourceClient } from './api.js';
import { isKubeError } from './client.js';
import type { KubeObject } from './objects.js';

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

/**
 * Adds `finalizer` to the object unless it is there. The patch carries the resourceVersion the
 * list was read at, so finalizers someone else added meanwhile are never overwritten: the write
 * fails with Conflict instead, and the reconcile retries on fresh data.
 */
export async function addFinalizer<T extends KubeObject>(
  api: ResourceClient<T>,
  obj: T,
  finalizer: string,
): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  return api.patch(
    obj.metadata.name!,
    {
      metadata: {
        finalizers: [...(obj.metadata.finalizers ?? []), finalizer],
        resourceVersion: obj.metadata.resourceVersion,
      },
    },
    { namespace: obj.metadata.namespace },
  );
}

/** Removes `finalizer` (the same optimistic locking as addFinalizer); a gone object is fine. */
export async function removeFinalizer<T extends KubeObject>(
  api: ResourceClient<T>,
  obj: T,
  finalizer: string,
): Promise<T | undefined> {
  if (!hasFinalizer(obj, finalizer)) return obj;
  try {
    return await api.patch(
      obj.metadata.name!,
      {
        metadata: {
          finalizers: obj.metadata.finalizers!.filter((f) => f !== finalizer),
          resourceVersion: obj.metadata.resourceVersion,
        },
      },
      { namespace: obj.metadata.namespace },
    );
  } catch (e) {
    if (isKubeError(e, 'NotFound')) return undefined;
    throw e;
  }
}
