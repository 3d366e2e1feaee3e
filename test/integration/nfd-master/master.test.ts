/**
 * nfd-master against a real control plane with simulated (kwok) nodes: the seed's example rule
 * labels exactly the nodes with veth loaded and an Intel (8086) PCI device; labels follow the
 * features and the rules; taints only with -enable-taints; extended resources and NodeFeatureGroup
 * status; and a restart removes no label, not even for a moment.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { installCrds } from '../../../src/api/index.js';
import { DEFAULT_POLICY } from '../../../src/nfd/eval/index.js';
import { NfdMaster } from '../../../src/nfd/master/index.js';
import type { KubeClient } from '../../../src/runtime/client.js';
import {
  ResourceClient,
  Nodes,
  silentLogger,
  type KubeObject,
  type WatchEvent,
} from '../../../src/runtime/index.js';
import { HWE_MAIN } from '../../support/cli.js';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
} from '../../support/cluster.js';

const F = 'feature.node.kubernetes.io';
const SEED_LABEL = `${F}/example-custom-feature`;
const NF_LABEL = `${F}/nf-present`;
const NFD = '/apis/nfd.k8s-sigs.io/v1alpha1';
const OPENSHIFT_NFD = '/apis/nfd.openshift.io/v1';

interface TestNode extends KubeObject {
  spec?: { taints?: { key: string; value?: string; effect: string }[] };
  status?: { capacity?: Record<string, string>; allocatable?: Record<string, string> };
}

function nodeFeature(ns: string, node: string, modules: string[], vendors: string[]) {
  return {
    apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
    kind: 'NodeFeature',
    metadata: { name: node, namespace: ns, labels: { 'nfd.node.kubernetes.io/node-name': node } },
    spec: {
      features: {
        flags: {
          'kernel.loadedmodule': { elements: Object.fromEntries(modules.map((m) => [m, {}])) },
        },
        attributes: { 'kernel.version': { elements: { major: '5', minor: '14' } } },
        instances: {
          'pci.device': {
            elements: vendors.map((v) => ({ attributes: { class: '0200', vendor: v } })),
          },
        },
      },
      labels: { 'nf-present': 'true' },
    },
  };
}

/** The seed's example rule (§3.5), as written there: nfd.openshift.io/v1. */
function seedRule(name: string) {
  return {
    apiVersion: 'nfd.openshift.io/v1',
    kind: 'NodeFeatureRule',
    metadata: { name },
    spec: {
      rules: [
        {
          name: 'example rule',
          labels: { 'example-custom-feature': 'true' },
          matchFeatures: [
            { feature: 'kernel.loadedmodule', matchExpressions: { veth: { op: 'Exists' } } },
            { feature: 'pci.device', matchExpressions: { vendor: { op: 'In', value: ['8086'] } } },
          ],
        },
      ],
    },
  };
}

function startMaster(client: KubeClient, namespace: string, enableTaints = false): NfdMaster {
  const m = new NfdMaster({
    client,
    namespace,
    policy: { ...DEFAULT_POLICY, enableTaints },
    resyncPeriodMs: 0,
    log: silentLogger,
  });
  onCleanup(() => m.stop());
  return m;
}

describe('nfd-master', { timeout: 300_000 }, () => {
  let client: KubeClient;
  let ns: string;
  let master: NfdMaster;
  const id = uniqueName('nfdm');
  const [nA, nB, nC] = ['a', 'b', 'c'].map((s) => `${id}-${s}`) as [string, string, string];
  const mine = [nA, nB, nC];
  const selector = `hwe-test=${id}`;
  const seedRuleName = `${id}-example-rule`;
  let nodes: ResourceClient<TestNode>;

  const node = (name: string) => nodes.get(name);
  const label = async (name: string, key: string) => (await node(name)).metadata.labels?.[key];

  before(async () => {
    const cluster = await testCluster();
    client = cluster.client;
    nodes = new ResourceClient<TestNode>(client, Nodes);
    await installCrds(client);
    ns = await testNamespace(client, 'nfdm');
    await testNodes(
      client,
      mine.map((name) => ({ name, labels: { 'hwe-test': id } })),
    );
    // a: veth + Intel NIC (matches); b: veth, Mellanox only; c: Intel, no veth.
    const nfs = [
      nodeFeature(ns, nA, ['veth', 'bridge'], ['8086', '10de']),
      nodeFeature(ns, nB, ['veth', 'bridge'], ['15b3']),
      nodeFeature(ns, nC, ['bridge'], ['8086']),
    ];
    for (const nf of nfs) {
      await client.request(`${NFD}/namespaces/${ns}/nodefeatures`, { method: 'POST', body: nf });
    }
    await client.request(`${OPENSHIFT_NFD}/nodefeaturerules`, {
      method: 'POST',
      body: seedRule(seedRuleName),
    });
    onCleanup(() =>
      client.request(`${OPENSHIFT_NFD}/nodefeaturerules/${seedRuleName}`, { method: 'DELETE' }),
    );
    master = startMaster(client, ns);
    await master.start();
  });

  it('labels exactly the nodes with veth loaded and an 8086 PCI device (seed §3.5)', async () => {
    // Every node gets the NodeFeature's own label: once all have it, all were evaluated.
    await eventually('NodeFeature labels on every node', async () => {
      for (const n of mine) if ((await label(n, NF_LABEL)) !== 'true') return false;
      return true;
    });
    assert.equal(await label(nA, SEED_LABEL), 'true');
    assert.equal(await label(nB, SEED_LABEL), undefined);
    assert.equal(await label(nC, SEED_LABEL), undefined);
    const a = await node(nA);
    assert.deepEqual(
      a.metadata.annotations?.['nfd.node.kubernetes.io/feature-labels']?.split(','),
      ['example-custom-feature', 'nf-present'],
    );
  });

  it('removes the label when the feature goes, and only that label', async () => {
    const path = `${NFD}/namespaces/${ns}/nodefeatures/${nA}`;
    await client.request(path, {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: {
        spec: { features: { flags: { 'kernel.loadedmodule': { elements: { veth: null } } } } },
      },
    });
    await eventually(
      'label removed from a',
      async () => (await label(nA, SEED_LABEL)) === undefined,
    );
    assert.equal(await label(nA, NF_LABEL), 'true');
    assert.equal(await label(nA, 'kubernetes.io/hostname'), nA);
    // And it comes back with the feature.
    await client.request(path, {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: {
        spec: { features: { flags: { 'kernel.loadedmodule': { elements: { veth: {} } } } } },
      },
    });
    await eventually('label back on a', async () => (await label(nA, SEED_LABEL)) === 'true');
  });

  it('brings a changed NodeFeatureRule to every node', async () => {
    const name = `${id}-all`;
    const rule = (value: string) => ({
      apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
      kind: 'NodeFeatureRule',
      metadata: { name },
      spec: {
        rules: [
          {
            name: 'bridge',
            labels: { [`${id}-bridge`]: value },
            annotations: { [`${id}-note`]: `v-${value}` },
            extendedResources: { [`${id}-units`]: '@kernel.version.major' },
            matchFeatures: [
              { feature: 'kernel.loadedmodule', matchExpressions: { bridge: { op: 'Exists' } } },
            ],
          },
        ],
      },
    });
    const created = await client.request<KubeObject>(`${NFD}/nodefeaturerules`, {
      method: 'POST',
      body: rule('one'),
    });
    onCleanup(() => client.request(`${NFD}/nodefeaturerules/${name}`, { method: 'DELETE' }));
    const allHave = (v: string) => async () => {
      for (const n of mine) if ((await label(n, `${F}/${id}-bridge`)) !== v) return false;
      return true;
    };
    await eventually('first label on every node', allHave('one'));
    const c = await node(nC);
    assert.equal(c.metadata.annotations?.[`${F}/${id}-note`], 'v-one');
    assert.equal(c.status?.capacity?.[`${F}/${id}-units`], '5');
    assert.equal(c.status?.allocatable?.[`${F}/${id}-units`], '5');
    assert.equal(
      c.metadata.annotations?.['nfd.node.kubernetes.io/extended-resources'],
      `${id}-units`,
    );

    await client.request(`${NFD}/nodefeaturerules/${name}`, {
      method: 'PUT',
      body: {
        ...rule('two'),
        metadata: { name, resourceVersion: created.metadata.resourceVersion },
      },
    });
    await eventually('changed label on every node', allHave('two'));

    await client.request(`${NFD}/nodefeaturerules/${name}`, { method: 'DELETE' });
    await eventually('rule outputs gone from every node', async () => {
      for (const n of mine) {
        const o = await node(n);
        if (o.metadata.labels?.[`${F}/${id}-bridge`] !== undefined) return false;
        if (o.metadata.annotations?.[`${F}/${id}-note`] !== undefined) return false;
        if (o.status?.capacity?.[`${F}/${id}-units`] !== undefined) return false;
        if (o.status?.allocatable?.[`${F}/${id}-units`] !== undefined) return false;
      }
      return true;
    });
    assert.equal(await label(nA, SEED_LABEL), 'true');
  });

  it('keeps NodeFeatureGroup status listing the matching nodes', async () => {
    const name = `${id}-veth`;
    await client.request(`${NFD}/namespaces/${ns}/nodefeaturegroups`, {
      method: 'POST',
      body: {
        apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
        kind: 'NodeFeatureGroup',
        metadata: { name, namespace: ns },
        spec: {
          featureGroupRules: [
            {
              name: 'veth',
              matchFeatures: [
                { feature: 'kernel.loadedmodule', matchExpressions: { veth: { op: 'Exists' } } },
              ],
            },
          ],
        },
      },
    });
    const members = async () => {
      const g = await client.request<{ status?: { nodes?: { name: string }[] } }>(
        `${NFD}/namespaces/${ns}/nodefeaturegroups/${name}`,
      );
      return (g.status?.nodes ?? []).map((n) => n.name).filter((n) => mine.includes(n));
    };
    await eventually('group lists a and b', async () => {
      const m = await members();
      return m.length === 2 && m[0] === nA && m[1] === nB;
    });
    // c loads veth: it joins.
    await client.request(`${NFD}/namespaces/${ns}/nodefeatures/${nC}`, {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: {
        spec: { features: { flags: { 'kernel.loadedmodule': { elements: { veth: {} } } } } },
      },
    });
    await eventually('group lists c too', async () => (await members()).length === 3);
    // That also makes c match the seed rule.
    await eventually('c labelled', async () => (await label(nC, SEED_LABEL)) === 'true');
  });

  it('removes no label when restarted, not even briefly', async () => {
    const api = new ResourceClient<TestNode>(client, Nodes);
    const list = await api.list({ labelSelector: selector });
    const before = new Map(list.items.map((n) => [n.metadata.name!, { ...n.metadata.labels }]));
    for (const n of mine) assert.equal(before.get(n)?.[NF_LABEL], 'true');
    const events: WatchEvent<TestNode>[] = [];
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

    await master.stop();
    master = startMaster(client, ns);
    await master.start();
    // A sentinel change after the restart: once it shows, the new master has evaluated the node.
    const sentinel = `${id}-sentinel`;
    await client.request(`${NFD}/nodefeaturerules`, {
      method: 'POST',
      body: {
        apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
        kind: 'NodeFeatureRule',
        metadata: { name: sentinel },
        spec: {
          rules: [
            {
              name: 's',
              labels: { [`${id}-after-restart`]: 'true' },
              matchFeatures: [
                { feature: 'kernel.loadedmodule', matchExpressions: { bridge: { op: 'Exists' } } },
              ],
            },
          ],
        },
      },
    });
    onCleanup(() => client.request(`${NFD}/nodefeaturerules/${sentinel}`, { method: 'DELETE' }));
    await eventually('sentinel label on every node', async () => {
      for (const n of mine)
        if ((await label(n, `${F}/${id}-after-restart`)) !== 'true') return false;
      return true;
    });
    ac.abort();
    await watching;

    const modified = events.filter((e) => e.type === 'MODIFIED');
    for (const ev of modified) {
      const name = ev.object.metadata.name!;
      const had = before.get(name) ?? {};
      const now = ev.object.metadata.labels ?? {};
      for (const [k, v] of Object.entries(had)) {
        assert.equal(now[k], v, `label ${k} of ${name} changed in a MODIFIED event after restart`);
      }
    }
    // The only writes of the new master are the sentinel's.
    const labelWrites = modified.filter((e) => {
      const had = before.get(e.object.metadata.name!) ?? {};
      const now = { ...(e.object.metadata.labels ?? {}) };
      delete now[`${F}/${id}-after-restart`];
      return (
        JSON.stringify(Object.entries(now).sort()) !== JSON.stringify(Object.entries(had).sort())
      );
    });
    assert.deepEqual(labelWrites, []);
  });

  it('applies taints only with -enable-taints (the CLI, as nfd-master)', async () => {
    const name = `${id}-taint`;
    const key = `example.com/${id}`;
    await client.request(`${NFD}/nodefeaturerules`, {
      method: 'POST',
      body: {
        apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
        kind: 'NodeFeatureRule',
        metadata: { name },
        spec: {
          rules: [
            {
              name: 'taint intel',
              labels: { [`${id}-tainted`]: 'true' },
              taints: [{ key, value: 'intel', effect: 'NoSchedule' }],
              matchFeatures: [
                {
                  feature: 'pci.device',
                  matchExpressions: { vendor: { op: 'In', value: ['8086'] } },
                },
              ],
            },
          ],
        },
      },
    });
    onCleanup(() => client.request(`${NFD}/nodefeaturerules/${name}`, { method: 'DELETE' }));
    const taintOf = async (n: string) => (await node(n)).spec?.taints?.find((t) => t.key === key);
    // Without the flag: the rule's label arrives, its taint never does.
    await eventually(
      'label of the taint rule',
      async () => (await label(nA, `${F}/${id}-tainted`)) === 'true',
    );
    assert.equal(await taintOf(nA), undefined);

    await master.stop();
    const dir = mkdtempSync(join(tmpdir(), 'nfdm-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const { kubeconfig } = await testCluster();
    // The upstream program name and single-dash flags, as in upstream manifests.
    const link = join(dir, 'nfd-master');
    symlinkSync(HWE_MAIN, link);
    const run = (args: string[]): ChildProcess => {
      const child = spawn(
        process.execPath,
        [link, ...args, '-kubeconfig', kubeconfig, '-port', '0'],
        {
          env: { ...process.env, POD_NAMESPACE: ns },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
      child.on('exit', (code, sig) => {
        if (code && sig !== 'SIGTERM') process.stderr.write(`nfd-master exited ${code}: ${err}\n`);
      });
      onCleanup(async () => void child.kill('SIGTERM'));
      return child;
    };
    const stopChild = (c: ChildProcess) =>
      new Promise<void>((resolve) => {
        if (c.exitCode !== null) return resolve();
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      });

    let child = run(['-enable-taints']);
    await eventually('taint on a', async () => (await taintOf(nA))?.value === 'intel', 60_000);
    assert.equal(
      (await node(nA)).metadata.annotations?.['nfd.node.kubernetes.io/taints'],
      `${key}=intel:NoSchedule`,
    );
    assert.equal(await taintOf(nB), undefined);
    await stopChild(child);

    child = run([]);
    await eventually('taint removed from a', async () => (await taintOf(nA)) === undefined, 60_000);
    assert.equal(await label(nA, `${F}/${id}-tainted`), 'true');
    await stopChild(child);
  });
});
