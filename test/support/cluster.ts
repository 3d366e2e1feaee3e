import { writeFileSync } from 'node:fs';
import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { LocalCluster } from '../../src/cluster/local.js';
import {
  createSimNodes,
  deleteSimNodes,
  type NodeObject,
  type SimNodeSpec,
} from '../../src/cluster/nodes.js';
import type { KubeClient } from '../../src/runtime/client.js';
import { kubeconfigYaml } from '../../src/runtime/kubeconfig.js';

let shared: Promise<LocalCluster> | undefined;

/*
 * Clean-ups registered by the helpers below run once, after all tests of the file. (A hook
 * registered from inside a before() hook would run as soon as that hook ends.)
 */
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
});

/** Runs `fn` after all tests of the file, in reverse order of registration. */
export function onCleanup(fn: () => Promise<unknown>): void {
  cleanups.push(fn);
}

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
      onCleanup(async () => c.client.close());
    } else {
      const started = LocalCluster.start({ ownedByProcess: true });
      shared = started;
      onCleanup(async () => (await started).stop());
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
    `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? `: ${lastError instanceof Error ? lastError.toString() : JSON.stringify(lastError)}` : ''}`,
  );
}

/** Creates a namespace and deletes it when the file's tests end. */
export async function testNamespace(client: KubeClient, prefix = 'test'): Promise<string> {
  const name = uniqueName(prefix);
  await client.request('/api/v1/namespaces', {
    method: 'POST',
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
  });
  onCleanup(() => client.request(`/api/v1/namespaces/${name}`, { method: 'DELETE' }));
  return name;
}

/** Creates simulated nodes, waits until they are Ready, and deletes them when the file's tests end. */
export async function testNodes(
  client: KubeClient,
  specs: SimNodeSpec[],
  timeoutMs = 60_000,
): Promise<void> {
  onCleanup(() =>
    deleteSimNodes(
      client,
      specs.map((s) => s.name),
    ),
  );
  await createSimNodes(client, specs);
  const names = new Set(specs.map((s) => s.name));
  await eventually(
    `${specs.length} simulated nodes to be Ready`,
    async () => {
      const list = await client.request<{ items: NodeObject[] }>('/api/v1/nodes');
      const ready = list.items.filter(
        (n) =>
          names.has(n.metadata.name) &&
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready.length === names.size;
    },
    timeoutMs,
  );
}

/**
 * A fresh token of the ServiceAccount, from the TokenRequest API (valid an hour). Asked again
 * until the deadline: a ServiceAccount just created may not be found at once.
 */
export async function serviceAccountToken(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<string> {
  const tr = await eventually(`a token of ServiceAccount ${namespace}/${name}`, () =>
    client.request<{ status: { token: string } }>(
      `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      {
        method: 'POST',
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { expirationSeconds: 3600 },
        },
      },
    ),
  );
  return tr.status.token;
}

/** Writes `file`: a kubeconfig for the cluster of `client` with a fresh ServiceAccount token. */
export async function serviceAccountKubeconfig(
  client: KubeClient,
  namespace: string,
  name: string,
  file: string,
): Promise<string> {
  const token = await serviceAccountToken(client, namespace, name);
  const { server, ca } = client.access;
  writeFileSync(file, kubeconfigYaml({ server, ca: ca ?? '', token, name }), { mode: 0o600 });
  return file;
}
