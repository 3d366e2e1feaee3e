import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { LocalCluster } from '../../src/cluster/local.js';
import type { KubeClient } from '../../src/runtime/client.js';

let shared: Promise<LocalCluster> | undefined;

/**
 * The control plane for integration tests. `npm test` starts one per run and passes its
 * directory in HWE_TEST_CLUSTER_DIR; a test file run alone starts its own, stopped when the
 * file's tests end. Tests share the cluster: use `uniqueName()` for namespaces and nodes, and
 * label selectors that only match your own nodes.
 */
export function testCluster(): Promise<LocalCluster> {
  if (!shared) {
    const dir = process.env.HWE_TEST_CLUSTER_DIR;
    if (dir) {
      const c = LocalCluster.attach(dir);
      if (!c) throw new Error(`HWE_TEST_CLUSTER_DIR=${dir} holds no running cluster`);
      shared = Promise.resolve(c);
      after(() => c.client.close());
    } else {
      shared = LocalCluster.start({ ownedByProcess: true });
      after(async () => (await shared!).stop());
    }
  }
  return shared;
}

/** A DNS-1123 name unique to this run, e.g. `ds-test-3fa9c1`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Polls `fn` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
  );
}

/** Creates a namespace and deletes it when the file's tests end. */
export async function testNamespace(client: KubeClient, prefix = 'test'): Promise<string> {
  const name = uniqueName(prefix);
  await client.request('/api/v1/namespaces', {
    method: 'POST',
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
  });
  after(async () => {
    await client.request(`/api/v1/namespaces/${name}`, { method: 'DELETE' }).catch(() => undefined);
  });
  return name;
}
