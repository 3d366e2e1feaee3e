/**
 * nfd-master killed (SIGKILL, no clean shutdown) at a few hundred nodes, a NodeFeatureRule
 * changed while it is down, and started again: a watcher on the Nodes sees no label of this suite
 * removed, not even for a moment, and the changed rule's label going straight from the old value
 * to the new one, in one write per node (upstream #2408: a restart removed and re-added labels).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { installCrds } from '../../../src/api/index.js';
import { mapLimit, simNodeSpecs } from '../../../src/cluster/nodes.js';
import type { KubeClient } from '../../../src/runtime/client.js';
import {
  Nodes,
  ResourceClient,
  type KubeObject,
  type WatchEvent,
} from '../../../src/runtime/index.js';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
} from '../../support/cluster.js';
import { runMasterProgram, stopChild } from './program.js';

const NODES = 300;
const F = 'feature.node.kubernetes.io';
const NFD = '/apis/nfd.k8s-sigs.io/v1alpha1';

describe('nfd-master restart by SIGKILL', { timeout: 900_000 }, () => {
  let client: KubeClient;
  let kubeconfig: string;
  let ns: string;
  const id = uniqueName('nfdk');
  const selector = `hwe-test=${id}`;
  const names = simNodeSpecs(NODES, id).map((s) => s.name);
  const stable = `${F}/${id}-stable`;
  const changes = `${F}/${id}-changes`;
  const own = (labels: Record<string, string> | undefined) =>
    Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => k.includes(id)));

  const rule = (value: string) => ({
    apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
    kind: 'NodeFeatureRule',
    metadata: { name: `${id}-rules` },
    spec: {
      rules: [
        {
          name: 'stable',
          labels: { [`${id}-stable`]: 'yes' },
          matchFeatures: [
            { feature: 'hwe.test', matchExpressions: { run: { op: 'In', value: [id] } } },
          ],
        },
        {
          name: 'veth',
          labels: { [`${id}-veth`]: 'true' },
          matchFeatures: [
            { feature: 'hwe.test', matchExpressions: { run: { op: 'In', value: [id] } } },
            { feature: 'kernel.loadedmodule', matchExpressions: { veth: { op: 'Exists' } } },
          ],
        },
        {
          name: 'changes',
          labels: { [`${id}-changes`]: value },
          matchFeatures: [
            { feature: 'hwe.test', matchExpressions: { run: { op: 'In', value: [id] } } },
          ],
        },
      ],
    },
  });

  before(async () => {
    const cluster = await testCluster();
    client = cluster.client;
    kubeconfig = cluster.kubeconfig;
    await installCrds(client);
    ns = await testNamespace(client, 'nfdk');
    await testNodes(
      client,
      names.map((name) => ({ name, labels: { 'hwe-test': id } })),
      600_000,
    );
    // Two machine types: every other node has veth loaded.
    await mapLimit(names, 16, (node) =>
      client.request(`${NFD}/namespaces/${ns}/nodefeatures`, {
        method: 'POST',
        body: {
          apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
          kind: 'NodeFeature',
          metadata: {
            name: node,
            namespace: ns,
            labels: { 'nfd.node.kubernetes.io/node-name': node },
          },
          spec: {
            features: {
              flags: {
                'kernel.loadedmodule': {
                  elements: names.indexOf(node) % 2 ? { veth: {} } : { bridge: {} },
                },
              },
              attributes: { 'hwe.test': { elements: { run: id } } },
              instances: {},
            },
            labels: { [`${id}-from-nf`]: 'true' },
          },
        },
      }),
    );
    await client.request(`${NFD}/nodefeaturerules`, { method: 'POST', body: rule('one') });
    onCleanup(() => client.request(`${NFD}/nodefeaturerules/${id}-rules`, { method: 'DELETE' }));
  });

  it('removes no label and writes each node once', async () => {
    const api = new ResourceClient<KubeObject>(client, Nodes);
    const labelled = (value: string) => async () => {
      const list = await api.list({ labelSelector: selector });
      const done = list.items.filter(
        (n) => n.metadata.labels?.[stable] === 'yes' && n.metadata.labels?.[changes] === value,
      );
      return done.length === NODES ? list : undefined;
    };
    let master = runMasterProgram([], { kubeconfig, namespace: ns });
    const list = await eventually('every node labelled', labelled('one'), 600_000, 2000);
    const before = new Map(list.items.map((n) => [n.metadata.name!, own(n.metadata.labels)]));
    for (const [name, l] of before) {
      assert.equal(l[`${F}/${id}-from-nf`], 'true', name);
      assert.equal(l[`${F}/${id}-veth`], names.indexOf(name) % 2 ? 'true' : undefined, name);
    }

    const events: WatchEvent<KubeObject>[] = [];
    const ac = new AbortController();
    const watching = (async () => {
      try {
        for await (const ev of api.watch({
          labelSelector: selector,
          resourceVersion: list.metadata.resourceVersion,
          signal: ac.signal,
        })) {
          events.push(ev);
        }
      } catch (e) {
        if (!ac.signal.aborted) throw e;
      }
    })();

    await stopChild(master, 'SIGKILL');
    // Changed while no master runs.
    const current = await client.request<KubeObject>(`${NFD}/nodefeaturerules/${id}-rules`);
    await client.request(`${NFD}/nodefeaturerules/${id}-rules`, {
      method: 'PUT',
      body: {
        ...rule('two'),
        metadata: { ...rule('two').metadata, resourceVersion: current.metadata.resourceVersion },
      },
    });
    master = runMasterProgram([], { kubeconfig, namespace: ns });
    await eventually('every node carries the changed label', labelled('two'), 600_000, 2000);
    ac.abort();
    await watching;
    await stopChild(master);

    const writes = new Map<string, number>();
    const last = new Map(before);
    for (const ev of events) {
      if (ev.type !== 'MODIFIED') continue;
      const name = ev.object.metadata.name!;
      const had = last.get(name) ?? {};
      const now = own(ev.object.metadata.labels);
      for (const k of Object.keys(had)) {
        assert.ok(k in now, `label ${k} of ${name} removed after the restart`);
      }
      if (
        JSON.stringify(Object.entries(now).sort()) !== JSON.stringify(Object.entries(had).sort())
      ) {
        writes.set(name, (writes.get(name) ?? 0) + 1);
        const { [changes]: was, ...restHad } = had;
        const { [changes]: is, ...restNow } = now;
        assert.deepEqual(restNow, restHad, `only the changed rule's label changes on ${name}`);
        assert.deepEqual([was, is], ['one', 'two'], name);
      }
      last.set(name, now);
    }
    assert.equal(writes.size, NODES);
    assert.deepEqual(
      [...writes.values()].filter((n) => n !== 1),
      [],
      'one label write per node',
    );
  });
});
