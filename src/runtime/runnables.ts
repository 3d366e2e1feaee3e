import { isKubeError, type KubeClient } from './client.js';
import type { Runnable } from './manager.js';
import type { ResourceType } from './resources.js';

/** Whether the cluster serves `type` (optional APIs such as OpenShift's or NodeResourceTopology). */
export async function apiServes(client: KubeClient, type: ResourceType): Promise<boolean> {
  const path = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  try {
    const list = await client.request<{ resources?: { name: string }[] }>(path);
    return (list.resources ?? []).some((r) => r.name === type.plural);
  } catch (e) {
    if (isKubeError(e, 'NotFound')) return false;
    throw e;
  }
}

/** A leader-only runnable that calls `fn` every `ms` until the manager stops. */
export function periodic(name: string, ms: number, fn: () => void): Runnable {
  return {
    name,
    needLeaderElection: true,
    start: async (signal) => {
      while (!signal.aborted) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
        if (signal.aborted) return;
        fn();
      }
    },
  };
}
