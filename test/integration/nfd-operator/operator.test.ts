/**
 * The NFD operator against a real control plane with kwok nodes: the seed's NodeFeatureDiscovery
 * deploys every operand and becomes Available; a deleted or hand-edited operand comes back; a
 * config edit writes the ConfigMap only; an image edit rolls new pods; two instances live side
 * by side; deleting the CR removes the operands, and with prunerOnDelete NFD's node labels too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { NodeFeatureDiscovery } from '../../../src/api/index.js';
import {
  ConfigMaps,
  DaemonSets,
  Deployments,
  Nodes,
  Pods,
  ServiceAccounts,
  Services,
  type KubeObject,
  type ResourceType,
} from '../../../src/runtime/index.js';
import { FINALIZER, renderOperands } from '../../../src/nfd/operator/index.js';
import {
  ClusterRoleBindings,
  ClusterRoles,
  RoleBindings,
  Roles,
} from '../../../src/nfd/operator/resources.js';
import { PACKAGE_ROOT } from '../../../src/version.js';
import { eventually, onCleanup, testNodes, uniqueName } from '../../support/cluster.js';
import { operatorUnderTest } from './operator-under-test.js';

const { client, ns, settings, mgr, stats, api, crApi, deleteCr } = await operatorUnderTest(
  'nfd-op',
  'hwe:operator-test',
  { pruneWaitMs: 500, recheckMs: 1000 },
);
const sel = uniqueName('nfd-op-node');
const nodeNames = [`${sel}-a`, `${sel}-b`];
const TYPES: Record<string, ResourceType> = {
  ServiceAccount: ServiceAccounts,
  Role: Roles,
  RoleBinding: RoleBindings,
  ClusterRole: ClusterRoles,
  ClusterRoleBinding: ClusterRoleBindings,
  ConfigMap: ConfigMaps,
  Service: Services,
  DaemonSet: DaemonSets,
  Deployment: Deployments,
};
const find = (o: { kind: string; metadata: { name?: string; namespace?: string } }) =>
  api(TYPES[o.kind]!).find(o.metadata.name!, o.metadata.namespace);

interface Workload extends KubeObject {
  spec: { template: { spec: { containers: { image: string; args: string[] }[] } } };
}
interface PodObject extends KubeObject {
  spec: { nodeName?: string; containers: { image: string }[] };
  status?: { phase?: string };
}

/** The seed's CR, in the test namespace, its workers limited to this file's nodes. */
function seedCr(
  name = 'nfd-instance',
  spec: NodeFeatureDiscovery['spec'] = {},
): NodeFeatureDiscovery {
  const seed = parse(
    readFileSync(join(PACKAGE_ROOT, 'examples/nfd/nodefeaturediscovery.yaml'), 'utf8'),
  ) as NodeFeatureDiscovery;
  seed.metadata = { name, namespace: ns };
  seed.spec = {
    ...seed.spec,
    ...spec,
    operand: { ...seed.spec?.operand, workerNodeSelector: { [sel]: 'yes' }, ...spec.operand },
  };
  return seed;
}

const condition = (cr: NodeFeatureDiscovery | undefined, type: string) =>
  cr?.status?.conditions?.find((c) => c.type === type);

async function waitAvailable(name: string): Promise<NodeFeatureDiscovery> {
  return eventually(
    `NodeFeatureDiscovery ${name} Available`,
    async () => {
      const cr = await crApi.find(name, ns);
      const a = condition(cr, 'Available');
      return a?.status === 'True' && a.observedGeneration === cr!.metadata.generation && cr;
    },
    120_000,
    250,
  );
}

/**
 * The seed CR nfd-instance, Available: the cases below act on it, each creating it when an
 * earlier case has not (or has deleted it), so that any case runs alone.
 */
async function seedInstance(): Promise<NodeFeatureDiscovery> {
  if (!(await crApi.find('nfd-instance', ns))) await crApi.create(seedCr());
  return waitAvailable('nfd-instance');
}

/** What the operator renders for the CR as stored (with its uid). */
async function rendered(name: string) {
  return renderOperands(await crApi.get(name, ns), settings);
}

async function podsOf(app: string): Promise<PodObject[]> {
  const { items } = await api<PodObject>(Pods).list({ namespace: ns, labelSelector: `app=${app}` });
  return items.filter((p) => !p.metadata.deletionTimestamp);
}

before(async () => {
  await testNodes(
    client,
    nodeNames.map((name) => ({ name, labels: { [sel]: 'yes' } })),
  );
  await mgr.start();
});
after(() => mgr.stop());

describe('nfd operator', { timeout: 600_000 }, () => {
  it('deploys every operand of the seed CR; kwok runs the pods; the CR becomes Available', async () => {
    await crApi.create(seedCr());
    const cr = await waitAvailable('nfd-instance');
    assert.ok(cr.metadata.finalizers?.includes(FINALIZER));
    const r = await rendered('nfd-instance');
    assert.equal(r.objects.length, 17);
    for (const o of r.objects) assert.ok(await find(o), `${o.kind} ${o.metadata.name} exists`);
    assert.equal(await api(DaemonSets).find('nfd-topology-updater', ns), undefined);
    const workers = await podsOf('nfd-worker');
    assert.deepEqual(workers.map((p) => p.spec.nodeName).sort(), [...nodeNames].sort());
    assert.ok(workers.every((p) => p.status?.phase === 'Running'));
    const masters = await podsOf('nfd-master');
    assert.equal(masters.length, 1);
    assert.equal(masters[0]!.status?.phase, 'Running');
    for (const t of ['Progressing', 'Degraded']) assert.equal(condition(cr, t)?.status, 'False');
    assert.equal(condition(cr, 'Upgradeable')?.status, 'True');
    // Each object was written once, when it was created.
    assert.deepEqual([stats.created, stats.updated, stats.deleted], [17, 0, 0]);
  });

  it('restores a deleted operand and undoes a hand edit', async () => {
    await seedInstance();
    const dsApi = api<Workload>(DaemonSets);
    const before = await dsApi.get('nfd-worker', ns);
    await dsApi.delete('nfd-worker', { namespace: ns });
    await eventually('the worker DaemonSet to come back', async () => {
      const ds = await dsApi.find('nfd-worker', ns);
      return ds && ds.metadata.uid !== before.metadata.uid;
    });
    const crApiRole = api(ClusterRoles);
    await crApiRole.delete(`${ns}:nfd-gc`);
    await eventually('the gc ClusterRole to come back', () => crApiRole.find(`${ns}:nfd-gc`));

    const depApi = api<Workload>(Deployments);
    await depApi.patch(
      'nfd-master',
      { spec: { template: { spec: { containers: [{ name: 'nfd-master', args: ['-port=1'] }] } } } },
      { namespace: ns, type: 'strategic' },
    );
    await eventually('the master arguments to be restored', async () => {
      const d = await depApi.get('nfd-master', ns);
      return d.spec.template.spec.containers[0]!.args.join(' ') === '-port=8080';
    });
    const cm = api<KubeObject & { data: Record<string, string> }>(ConfigMaps);
    await cm.patch(
      'nfd-worker-conf',
      { data: { 'nfd-worker.conf': 'core: {}\n' } },
      { namespace: ns },
    );
    await eventually('the worker config to be restored', async () => {
      const c = await cm.get('nfd-worker-conf', ns);
      return (c.data['nfd-worker.conf'] ?? '').includes('more.kernel.features');
    });
    await waitAvailable('nfd-instance');
  });

  it('writes nothing when nothing differs; a config edit writes the ConfigMap only', async () => {
    await seedInstance();
    const r = await rendered('nfd-instance');
    // Workloads get status writes from their controllers: compare their generation instead.
    const mark = async () =>
      new Map(
        await Promise.all(
          r.objects.map(async (o) => {
            const cur = (await find(o))!;
            const v =
              o.kind === 'DaemonSet' || o.kind === 'Deployment'
                ? `g${cur.metadata.generation}`
                : cur.metadata.resourceVersion;
            return [`${o.kind}/${o.metadata.name}`, v] as const;
          }),
        ),
      );
    const first = await mark();
    const writes = stats.created + stats.updated + stats.deleted;
    // A resync of the CR changes nothing.
    await crApi.patch(
      'nfd-instance',
      { metadata: { annotations: { poke: '1' } } },
      { namespace: ns },
    );
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(stats.created + stats.updated + stats.deleted, writes);
    assert.deepEqual(await mark(), first);

    const cr = await crApi.get('nfd-instance', ns);
    const text = `${cr.spec!.workerConfig!.configData}\n# edited\n`;
    await crApi.patch(
      'nfd-instance',
      { spec: { workerConfig: { configData: text } } },
      { namespace: ns },
    );
    const cm = api<KubeObject & { data: Record<string, string> }>(ConfigMaps);
    await eventually('the ConfigMap to carry the edit', async () =>
      ((await cm.get('nfd-worker-conf', ns)).data['nfd-worker.conf'] ?? '').includes('# edited'),
    );
    await waitAvailable('nfd-instance');
    const second = await mark();
    const changed = [...second].filter(([k, v]) => first.get(k) !== v).map(([k]) => k);
    assert.deepEqual(changed, ['ConfigMap/nfd-worker-conf']);
  });

  it('rolls out an image change to new pods', async () => {
    await seedInstance();
    const old = (await podsOf('nfd-worker')).map((p) => p.metadata.uid);
    await crApi.patch(
      'nfd-instance',
      { spec: { operand: { image: 'registry.example/hwe:v2' } } },
      { namespace: ns },
    );
    await eventually(
      'workers and master to run the new image',
      async () => {
        for (const app of ['nfd-worker', 'nfd-master', 'nfd-gc']) {
          const pods = await podsOf(app);
          if (!pods.length) return false;
          if (!pods.every((p) => p.spec.containers[0]!.image === 'registry.example/hwe:v2'))
            return false;
        }
        return true;
      },
      180_000,
      500,
    );
    const now = await podsOf('nfd-worker');
    assert.ok(
      now.every((p) => !old.includes(p.metadata.uid)),
      'new worker pods',
    );
    await waitAvailable('nfd-instance');
  });

  it('runs a second instance beside the first; deleting it leaves the first alone', async () => {
    await seedInstance();
    await crApi.create(seedCr('nfd-blue', { instance: 'blue', topologyupdater: true }));
    await waitAvailable('nfd-blue');
    const blue = await rendered('nfd-blue');
    assert.ok(blue.objects.some((o) => o.metadata.name === 'nfd-topology-updater-blue'));
    for (const o of blue.objects) assert.ok(await find(o), `${o.kind} ${o.metadata.name}`);
    const first = await rendered('nfd-instance');
    const firstVersions = await Promise.all(
      first.objects.map(async (o) => (await find(o))?.metadata.uid),
    );

    // Switched off, the topology updater and its identity go; the rest stays.
    await crApi.patch('nfd-blue', { spec: { topologyupdater: false } }, { namespace: ns });
    const topo = blue.objects.filter((o) => o.metadata.name!.includes('topology-updater'));
    assert.equal(topo.length, 4);
    await eventually('the topology updater objects to be deleted', async () => {
      for (const o of topo) if (await find(o)) return false;
      return true;
    });
    assert.ok(await api(DaemonSets).find('nfd-worker-blue', ns));

    await deleteCr('nfd-blue');
    for (const o of blue.objects)
      assert.equal(await find(o), undefined, `${o.kind} ${o.metadata.name} deleted`);
    assert.deepEqual(
      await Promise.all(first.objects.map(async (o) => (await find(o))?.metadata.uid)),
      firstVersions,
    );
    await waitAvailable('nfd-instance');
  });

  it('a spec it cannot render is reported by field, and the operands stay', async () => {
    await seedInstance();
    await crApi.patch('nfd-instance', { spec: { labelWhiteList: '([a-z' } }, { namespace: ns });
    const cr = await eventually('Degraded ValidationFailed', async () => {
      const c = await crApi.get('nfd-instance', ns);
      const d = condition(c, 'Degraded');
      return d?.status === 'True' && d.reason === 'ValidationFailed' && c;
    });
    assert.match(
      condition(cr, 'Degraded')!.message!,
      /^spec\.labelWhiteList: invalid regular expression/,
    );
    assert.ok(await api(Deployments).find('nfd-master', ns));
    await crApi.patch('nfd-instance', { spec: { labelWhiteList: null } }, { namespace: ns });
    await eventually(
      'Degraded False',
      async () => condition(await crApi.get('nfd-instance', ns), 'Degraded')?.status === 'False',
    );
  });

  const F = 'feature.node.kubernetes.io';
  /** Labels as nfd-master leaves them: the label and the bookkeeping annotation naming it. */
  async function labelNodes(prefix = '') {
    for (const n of nodeNames) {
      await api(Nodes).patch(n, {
        metadata: {
          labels: { [`${F}/op-test`]: 'true', unrelated: 'keep' },
          annotations: { [`${prefix}nfd.node.kubernetes.io/feature-labels`]: 'op-test' },
        },
      });
    }
  }
  const nodeLabels = async () =>
    Promise.all(nodeNames.map(async (n) => (await api(Nodes).get(n)).metadata.labels ?? {}));

  it('deleting the CR without prunerOnDelete removes the operands and leaves node labels', async () => {
    await seedInstance();
    await labelNodes();
    const r = await rendered('nfd-instance');
    await deleteCr('nfd-instance');
    for (const o of r.objects)
      assert.equal(await find(o), undefined, `${o.kind} ${o.metadata.name} deleted`);
    for (const l of await nodeLabels()) assert.equal(l[`${F}/op-test`], 'true');
  });

  it('deleting the CR with prunerOnDelete removes the operands, then NFD labels from every node', async () => {
    await crApi.create(seedCr('nfd-prune', { instance: 'prune', prunerOnDelete: true }));
    await waitAvailable('nfd-prune');
    await labelNodes('prune.');
    const r = await rendered('nfd-prune');
    await deleteCr('nfd-prune');
    for (const o of r.objects)
      assert.equal(await find(o), undefined, `${o.kind} ${o.metadata.name} deleted`);
    for (const l of await nodeLabels()) {
      assert.equal(l[`${F}/op-test`], undefined);
      assert.equal(l.unrelated, 'keep');
    }
    const n = await api(Nodes).get(nodeNames[0]!);
    assert.equal(
      n.metadata.annotations?.['prune.nfd.node.kubernetes.io/feature-labels'],
      undefined,
    );
  });

  it('says which operand cannot run and why (Degraded, from its Warning events)', async () => {
    await client.request(`/api/v1/namespaces/${ns}/resourcequotas`, {
      method: 'POST',
      body: { metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } },
    });
    await crApi.create(seedCr('nfd-quota', { instance: 'quota' }));
    const cr = await eventually(
      'Degraded naming the worker DaemonSet',
      async () => {
        const c = await crApi.get('nfd-quota', ns);
        const d = condition(c, 'Degraded');
        return d?.status === 'True' && d.reason === 'NFDWorkerDaemonSetDegraded' && c;
      },
      120_000,
      250,
    );
    assert.match(
      condition(cr, 'Degraded')!.message!,
      /DaemonSet nfd-worker-quota: .*last warning: FailedCreate: .*exceeded quota/,
    );
    assert.equal(condition(cr, 'Available')?.status, 'False');
    assert.equal(condition(cr, 'Upgradeable')?.status, 'False');
    await deleteCr('nfd-quota');
    await client.request(`/api/v1/namespaces/${ns}/resourcequotas/no-pods`, { method: 'DELETE' });
  });
});

onCleanup(async () => {
  // Cluster-scoped operands of CRs a failed test left behind.
  for (const t of [ClusterRoles, ClusterRoleBindings]) {
    const { items } = await api(t).list({
      labelSelector: 'app.kubernetes.io/managed-by=nfd-operator',
    });
    for (const o of items.filter((x) => x.metadata.name!.startsWith(`${ns}:`))) {
      await api(t).deleteIfExists(o.metadata.name!);
    }
  }
});
