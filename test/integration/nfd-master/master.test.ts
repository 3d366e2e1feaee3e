/**
 * nfd-master against a real control plane with simulated (kwok) nodes: the seed's example rule
 * labels exactly the nodes with veth loaded and an Intel (8086) PCI device; labels follow the
 * features and the rules; taints only with -enable-taints; extended resources and NodeFeatureGroup
 * status (nodes join and leave); what users put on Nodes by hand survives; a broken rule is
 * reported on the rule while the others apply; the label-policy flags; and a restart removes no
 * label, not even for a moment — also when killed at a few hundred nodes with a rule changed while
 * it was down. The cluster is shared: other NodeFeatureRules may exist and add labels to these
 * nodes, so assertions look only at this suite's own outputs. Every master runs from this one
 * file, one after another: two masters with different flags would undo each other's writes.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { installCrds } from '../../../src/api/index.js';
import { simNodeSpecs } from '../../../src/cluster/nodes.js';
import { DEFAULT_POLICY } from '../../../src/nfd/eval/index.js';
import { NfdMaster } from '../../../src/nfd/master/index.js';
import type { KubeClient } from '../../../src/runtime/client.js';
import {
  mapLimit,
  ResourceClient,
  Nodes,
  silentLogger,
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

const F = 'feature.node.kubernetes.io';
const SEED_LABEL = `${F}/example-custom-feature`;
const NF_LABEL = `${F}/nf-present`;
const NFD = '/apis/nfd.k8s-sigs.io/v1alpha1';
const OPENSHIFT_NFD = '/apis/nfd.openshift.io/v1';

interface RuleEvent extends KubeObject {
  type: string;
  reason: string;
  message: string;
  count: number;
}

interface TestNode extends KubeObject {
  spec?: { taints?: { key: string; value?: string; effect: string }[] };
  status?: { capacity?: Record<string, string>; allocatable?: Record<string, string> };
}

/** The feature that only this run's NodeFeatures carry: rules matching it touch only our nodes. */
const OURS = 'hwe.test';

function nodeFeature(ns: string, node: string, modules: string[], vendors: string[], id: string) {
  return {
    apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
    kind: 'NodeFeature',
    metadata: { name: node, namespace: ns, labels: { 'nfd.node.kubernetes.io/node-name': node } },
    spec: {
      features: {
        flags: {
          'kernel.loadedmodule': { elements: Object.fromEntries(modules.map((m) => [m, {}])) },
        },
        attributes: {
          'kernel.version': { elements: { major: '5', minor: '14' } },
          [OURS]: { elements: { run: id } },
        },
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
  /** Labels this suite's rules and NodeFeatures produce (others' rules may add more). */
  const ownLabel = (k: string) => k === SEED_LABEL || k === NF_LABEL || k.includes(id);
  const ownOnly = (labels: Record<string, string> | undefined) =>
    Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => ownLabel(k)));
  const onlyOurs = { feature: OURS, matchExpressions: { run: { op: 'In', value: [id] } } };
  const createRule = async (name: string, rules: unknown[]) => {
    await client.request(`${NFD}/nodefeaturerules`, {
      method: 'POST',
      body: {
        apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
        kind: 'NodeFeatureRule',
        metadata: { name },
        spec: { rules },
      },
    });
    onCleanup(() => client.request(`${NFD}/nodefeaturerules/${name}`, { method: 'DELETE' }));
  };
  const run = async (args: string[]) =>
    runMasterProgram(args, { kubeconfig: (await testCluster()).kubeconfig, namespace: ns });
  const ruleEvents = async (rule: string) => {
    const selector = `involvedObject.kind=NodeFeatureRule,involvedObject.name=${rule}`;
    const list = await client.request<{ items: RuleEvent[] }>(
      `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(selector)}`,
    );
    return list.items;
  };

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
      nodeFeature(ns, nA, ['veth', 'bridge'], ['8086', '10de'], id),
      nodeFeature(ns, nB, ['veth', 'bridge'], ['15b3'], id),
      nodeFeature(ns, nC, ['bridge'], ['8086'], id),
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
      a.metadata.annotations?.['nfd.node.kubernetes.io/feature-labels']
        ?.split(',')
        .filter((l) => ownLabel(`${F}/${l}`)),
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
    // a unloads veth: it leaves, and comes back with it.
    const vethOnA = (v: Record<string, never> | null) =>
      client.request(`${NFD}/namespaces/${ns}/nodefeatures/${nA}`, {
        method: 'PATCH',
        contentType: 'application/merge-patch+json',
        body: {
          spec: { features: { flags: { 'kernel.loadedmodule': { elements: { veth: v } } } } },
        },
      });
    await vethOnA(null);
    await eventually('group lists b and c only', async () => {
      const m = await members();
      return m.length === 2 && m[0] === nB && m[1] === nC;
    });
    await vethOnA({});
    await eventually('a back in the group', async () => (await members()).length === 3);
    await eventually('a labelled again', async () => (await label(nA, SEED_LABEL)) === 'true');
  });

  it('keeps what users put on a Node by hand when a rule goes', async () => {
    const hand = {
      label: `${F}/${id}-by-hand`,
      taint: `example.com/${id}-by-hand`,
      res: `example.com/${id}-dev`,
    };
    const b = await node(nB);
    await nodes.patch(nB, {
      metadata: { labels: { [hand.label]: 'mine' } },
      spec: { taints: [...(b.spec?.taints ?? []), { key: hand.taint, effect: 'NoSchedule' }] },
    });
    await nodes.patchStatus(nB, {
      status: { capacity: { [hand.res]: '3' }, allocatable: { [hand.res]: '3' } },
    });
    const name = `${id}-goes`;
    await createRule(name, [
      {
        name: 'outputs',
        labels: { [`${id}-from-rule`]: 'yes' },
        annotations: { [`${id}-note`]: 'from-rule' },
        extendedResources: { [`${id}-units`]: '2' },
        matchFeatures: [onlyOurs],
      },
    ]);
    await eventually('rule outputs on b', async () => {
      const o = await node(nB);
      return (
        o.metadata.labels?.[`${F}/${id}-from-rule`] === 'yes' &&
        o.status?.capacity?.[`${F}/${id}-units`] === '2'
      );
    });
    await client.request(`${NFD}/nodefeaturerules/${name}`, { method: 'DELETE' });
    await eventually('rule outputs gone from b', async () => {
      const o = await node(nB);
      return (
        o.metadata.labels?.[`${F}/${id}-from-rule`] === undefined &&
        o.metadata.annotations?.[`${F}/${id}-note`] === undefined &&
        o.status?.capacity?.[`${F}/${id}-units`] === undefined
      );
    });
    const afterwards = await node(nB);
    assert.equal(afterwards.metadata.labels?.[hand.label], 'mine');
    assert.ok(
      afterwards.spec?.taints?.some((t) => t.key === hand.taint && t.effect === 'NoSchedule'),
    );
    assert.equal(afterwards.status?.capacity?.[hand.res], '3');
    assert.equal(afterwards.status?.allocatable?.[hand.res], '3');
    assert.equal(afterwards.metadata.labels?.[NF_LABEL], 'true');
  });

  it('reports a broken rule on the rule, once, while the other rules apply', async () => {
    const bad = `${id}-broken`;
    const refused = `kubernetes.io/${id}-refused`;
    await createRule(bad, [
      {
        name: 'bad template',
        labelsTemplate: '{{ range .kernel.nosuch }}{{ .Name }}=x{{ end }}',
        matchFeatures: [
          onlyOurs,
          { feature: 'kernel.version', matchExpressions: { major: { op: 'Exists' } } },
        ],
      },
      { name: 'reserved namespace', labels: { [refused]: 'x' }, matchFeatures: [onlyOurs] },
      { name: 'fine', labels: { [`${id}-same-object`]: 'yes' }, matchFeatures: [onlyOurs] },
    ]);
    await createRule(`${id}-other`, [
      { name: 'other', labels: { [`${id}-other-object`]: 'yes' }, matchFeatures: [onlyOurs] },
    ]);
    await eventually('the good rules applied on every node', async () => {
      for (const n of mine) {
        const l = (await node(n)).metadata.labels ?? {};
        if (l[`${F}/${id}-same-object`] !== 'yes' || l[`${F}/${id}-other-object`] !== 'yes') {
          return false;
        }
      }
      return true;
    });
    const events = await eventually('two Warning Events on the broken rule', async () => {
      const ev = await ruleEvents(bad);
      return ev.length >= 2 ? ev : undefined;
    });
    const onNode = new RegExp(`e\\.g\\. on node (${mine.join('|')})\\)`);
    const failed = events.filter((e) => e.message.startsWith('spec.rules[0].labelsTemplate'));
    assert.equal(failed.length, 1, JSON.stringify(events));
    assert.equal(failed[0]!.type, 'Warning');
    assert.equal(failed[0]!.reason, 'RuleError');
    assert.match(failed[0]!.message, /rule "bad template": .*nosuch/);
    assert.match(failed[0]!.message, onNode);
    const refusal = events.filter((e) =>
      e.message.startsWith(`spec.rules[1].labels["${refused}"]`),
    );
    assert.equal(refusal.length, 1, JSON.stringify(events));
    assert.match(
      refusal[0]!.message,
      new RegExp(`rule "reserved namespace": label "${refused}"="x" refused`),
    );
    assert.match(refusal[0]!.message, onNode);
    // Once per rule and field, not per node: three nodes failed, each Event was written once.
    assert.deepEqual(
      events.map((e) => e.count),
      events.map(() => 1),
    );
    assert.equal((await ruleEvents(`${id}-other`)).length, 0);
    assert.equal(await label(nA, refused), undefined);
  });

  it('removes no label when restarted, not even briefly', async () => {
    const api = new ResourceClient<TestNode>(client, Nodes);
    const list = await api.list({ labelSelector: selector });
    const before = new Map(list.items.map((n) => [n.metadata.name!, ownOnly(n.metadata.labels)]));
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
      const now = ownOnly(ev.object.metadata.labels);
      for (const [k, v] of Object.entries(had)) {
        assert.equal(now[k], v, `label ${k} of ${name} changed in a MODIFIED event after restart`);
      }
    }
    // The only writes of the new master are the sentinel's.
    const labelWrites = modified.filter((e) => {
      const had = before.get(e.object.metadata.name!) ?? {};
      const now = ownOnly(e.object.metadata.labels);
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
    let child = await run(['-enable-taints']);
    await eventually('taint on a', async () => (await taintOf(nA))?.value === 'intel', 60_000);
    assert.equal(
      (await node(nA)).metadata.annotations?.['nfd.node.kubernetes.io/taints'],
      `${key}=intel:NoSchedule`,
    );
    assert.equal(await taintOf(nB), undefined);
    await stopChild(child);

    child = await run([]);
    await eventually('taint removed from a', async () => (await taintOf(nA)) === undefined, 60_000);
    assert.equal(await label(nA, `${F}/${id}-tainted`), 'true');
    await stopChild(child);
  });
  it('applies the label-policy flags (the CLI, as nfd-master)', async () => {
    const name = `${id}-policy`;
    const want = {
      denied: `denied.example.com/${id}-d`,
      wildcard: `sub.other.example/${id}-w`,
      extra: `vendor.kubernetes.io/${id}-v`,
      reserved: `kubernetes.io/${id}-k`,
      kept: `${F}/${id}-keep`,
      notListed: `${F}/unlisted-${id}`,
    };
    await createRule(name, [
      {
        name: 'policy',
        labels: {
          [want.denied]: 'x',
          [want.wildcard]: 'x',
          [want.extra]: 'x',
          [want.reserved]: 'x',
          [`${id}-keep`]: 'x',
          [`unlisted-${id}`]: 'x',
        },
        matchFeatures: [onlyOurs],
      },
    ]);
    const child = await run([
      '-deny-label-ns=denied.example.com,*.other.example',
      '-extra-label-ns=vendor.kubernetes.io',
      `-label-whitelist=^${id}-`,
    ]);
    await eventually(
      'allowed labels on a, and the label the whitelist refuses removed',
      async () => {
        const l = (await node(nA)).metadata.labels ?? {};
        return l[want.extra] === 'x' && l[want.kept] === 'x' && l[NF_LABEL] === undefined;
      },
      60_000,
    );
    const l = (await node(nA)).metadata.labels ?? {};
    for (const k of [want.denied, want.wildcard, want.reserved, want.notListed]) {
      assert.equal(l[k], undefined, k);
    }
    // Each refusal is logged once, at the default level, naming the label and the rule.
    await eventually('refusals logged', async () => child.log().includes(want.reserved), 30_000);
    await stopChild(child);
    const lines = child
      .log()
      .split('\n')
      .filter((line) => line.includes(`spec.rules[0].labels[\\"${want.reserved}\\"]`));
    assert.equal(lines.length, 1, child.log().slice(-3000));
    assert.match(lines[0]!, /"level":"error"/);
    assert.match(lines[0]!, new RegExp(`"nodefeaturerule":"${name}"`));
    assert.match(lines[0]!, /rule \\"policy\\"/);
  });
});

/**
 * nfd-master killed (SIGKILL, no clean shutdown) at a few hundred nodes, a NodeFeatureRule
 * changed while it is down, and started again: a watcher on the Nodes sees no label of this suite
 * removed, not even for a moment, and the changed rule's label going straight from the old value
 * to the new one, in one write per node (upstream #2408: a restart removed and re-added labels).
 */
const NODES = 300;

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
          matchFeatures: [{ feature: OURS, matchExpressions: { run: { op: 'In', value: [id] } } }],
        },
        {
          name: 'veth',
          labels: { [`${id}-veth`]: 'true' },
          matchFeatures: [
            { feature: OURS, matchExpressions: { run: { op: 'In', value: [id] } } },
            { feature: 'kernel.loadedmodule', matchExpressions: { veth: { op: 'Exists' } } },
          ],
        },
        {
          name: 'changes',
          labels: { [`${id}-changes`]: value },
          matchFeatures: [{ feature: OURS, matchExpressions: { run: { op: 'In', value: [id] } } }],
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
              attributes: { [OURS]: { elements: { run: id } } },
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
    // Every event from the list on: a watch the server ends is resumed where it stopped.
    let resumeAt = list.metadata.resourceVersion;
    let watchError: unknown;
    const watching = (async () => {
      while (!ac.signal.aborted) {
        try {
          for await (const ev of api.watch({
            labelSelector: selector,
            resourceVersion: resumeAt,
            signal: ac.signal,
          })) {
            if ((ev.type as string) === 'ERROR') {
              throw new Error(`the watch failed: ${JSON.stringify(ev.object).slice(0, 300)}`);
            }
            events.push(ev);
            resumeAt = ev.object.metadata.resourceVersion ?? resumeAt;
          }
        } catch (e) {
          if (!ac.signal.aborted) watchError = e;
          return;
        }
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
    // The list can run ahead of the watch: wait until the watch has delivered every node's change.
    await eventually(
      'the watch saw every node change',
      async () => {
        if (watchError)
          throw watchError instanceof Error ? watchError : new Error('the watch failed');
        return (
          new Set(
            events
              .filter((ev) => ev.object.metadata.labels?.[changes] === 'two')
              .map((ev) => ev.object.metadata.name),
          ).size === NODES
        );
      },
      60_000,
    );
    ac.abort();
    await watching;
    assert.equal(watchError, undefined);
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
