import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';
import type { LocalCluster } from '../../../src/cluster/local.js';
import {
  rebootNode,
  simNodeSpecs,
  upgradeKernel,
  type NodeObject,
} from '../../../src/cluster/nodes.js';
import { KubeClient, isKubeError } from '../../../src/runtime/client.js';
import {
  eventually,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
  serviceAccountToken,
} from '../../support/cluster.js';

interface Obj {
  metadata: {
    name: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: unknown[];
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}
interface List<T> {
  items: T[];
  metadata: { resourceVersion: string };
}
interface PodObj extends Obj {
  spec: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

describe('local control plane', () => {
  let cluster: LocalCluster;
  let client: KubeClient;
  let ns: string;
  before(async () => {
    cluster = await testCluster();
    client = cluster.client;
    ns = await testNamespace(client, 'cp');
  });

  it('serves a CRD: create, watch and patch a custom object', async () => {
    const group = `${uniqueName('g')}.hwe.test`;
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } },
                },
              },
            },
          },
        ],
      },
    };
    await client.request('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      method: 'POST',
      body: crd,
    });
    const base = `/apis/${group}/v1/namespaces/${ns}/widgets`;
    await eventually('the CRD to be served', async () => {
      await client.request(base);
      return true;
    });

    const list = await client.request<List<Obj>>(base);
    const events: { type: string; object: Obj }[] = [];
    const ac = new AbortController();
    const watching = (async () => {
      try {
        for await (const ev of client.stream<{ type: string; object: Obj }>(base, {
          query: { watch: 1, resourceVersion: list.metadata.resourceVersion },
          signal: ac.signal,
        })) {
          events.push(ev);
        }
      } catch (e) {
        if (!ac.signal.aborted) throw e;
      }
    })();

    await client.request(base, {
      method: 'POST',
      body: {
        apiVersion: `${group}/v1`,
        kind: 'Widget',
        metadata: { name: 'w1' },
        spec: { size: 2 },
      },
    });
    const patched = await client.request<Obj>(`${base}/w1`, {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { spec: { size: 5 } },
    });
    assert.equal(patched.spec?.size, 5);

    await eventually('ADDED and MODIFIED events', async () => events.length >= 2);
    ac.abort();
    await watching;
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata.name, e.object.spec?.size]),
      [
        ['ADDED', 'w1', 2],
        ['MODIFIED', 'w1', 5],
      ],
    );

    // The schema is enforced: the apiserver names the field.
    await assert.rejects(
      client.request(base, {
        method: 'POST',
        body: {
          apiVersion: `${group}/v1`,
          kind: 'Widget',
          metadata: { name: 'w2' },
          spec: { size: 0 },
        },
      }),
      (e: unknown) => isKubeError(e, 'Invalid') && /spec\.size/.test(e.message),
    );
    await client.request(
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`,
      {
        method: 'DELETE',
      },
    );
  });

  it('runs a DaemonSet on simulated nodes and garbage-collects its pods', async () => {
    const pool = uniqueName('pool');
    const specs = simNodeSpecs(3, pool, { labels: { 'hwe.test/pool': pool } });
    await testNodes(client, specs);

    const ds = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: ns },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: {
            nodeSelector: { 'hwe.test/pool': pool },
            containers: [{ name: 'agent', image: 'registry.example/agent:1' }],
          },
        },
      },
    };
    await client.request(`/apis/apps/v1/namespaces/${ns}/daemonsets`, { method: 'POST', body: ds });
    const podsPath = `/api/v1/namespaces/${ns}/pods`;
    const ready = await eventually(
      'a Running, Ready pod on each of the 3 nodes',
      async () => {
        const pods = (
          await client.request<List<PodObj>>(podsPath, { query: { labelSelector: 'app=agent' } })
        ).items;
        const ok = pods.filter(
          (p) =>
            p.status?.phase === 'Running' &&
            p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        return ok.length === 3 && ok;
      },
      60_000,
    );
    assert.deepEqual(ready.map((p) => p.spec.nodeName).sort(), specs.map((s) => s.name).sort());

    // Deleting the DaemonSet (background propagation) leaves the pods to the garbage collector.
    await client.request(`/apis/apps/v1/namespaces/${ns}/daemonsets/agent`, {
      method: 'DELETE',
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
    });
    await eventually(
      'the DaemonSet pods to be garbage-collected',
      async () =>
        (await client.request<List<PodObj>>(podsPath, { query: { labelSelector: 'app=agent' } }))
          .items.length === 0,
      60_000,
    );
  });

  it('refuses a restricted ServiceAccount token with 403', async () => {
    await client.request(`/api/v1/namespaces/${ns}/serviceaccounts`, {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'restricted' } },
    });
    const restricted = new KubeClient({
      ...client.access,
      token: await serviceAccountToken(client, ns, 'restricted'),
      tokenFile: undefined,
    });
    try {
      // Authenticated (discovery is allowed to every authenticated user)…
      await restricted.request('/version');
      // …but not authorized to read secrets.
      await assert.rejects(
        restricted.request('/api/v1/namespaces/kube-system/secrets'),
        (e: unknown) =>
          isKubeError(e, 'Forbidden') && e.status === 403 && /restricted/.test(e.message),
      );
    } finally {
      restricted.close();
    }
  });

  it('changes a simulated node: kernel upgrade and reboot', async () => {
    const [spec] = simNodeSpecs(1, uniqueName('upg'), {
      kernelVersion: '5.14.0-284.30.1.el9_2.x86_64',
    });
    await testNodes(client, [spec!]);
    const path = `/api/v1/nodes/${spec!.name}`;
    const before = await client.request<NodeObject>(path);
    assert.equal(before.status?.nodeInfo?.kernelVersion, '5.14.0-284.30.1.el9_2.x86_64');

    await upgradeKernel(client, spec!.name, '5.14.0-362.8.1.el9_3.x86_64');
    const upgraded = await client.request<NodeObject>(path);
    assert.equal(upgraded.status?.nodeInfo?.kernelVersion, '5.14.0-362.8.1.el9_3.x86_64');
    assert.notEqual(upgraded.status?.nodeInfo?.bootID, before.status?.nodeInfo?.bootID);

    const bootID = await rebootNode(client, spec!.name);
    const rebooted = await client.request<NodeObject>(path);
    assert.equal(rebooted.status?.nodeInfo?.bootID, bootID);
    assert.equal(rebooted.status?.nodeInfo?.kernelVersion, '5.14.0-362.8.1.el9_3.x86_64');
    assert.ok(rebooted.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  });
});
