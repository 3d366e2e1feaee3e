import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testCluster, testNamespace, uniqueName } from '../../support/cluster.js';
import {
  ConfigMaps,
  createOrPatch,
  addFinalizer,
  removeFinalizer,
  isKubeError,
  Namespaces,
  ResourceClient,
  setCondition,
  type Condition,
  type KubeObject,
} from '../../../src/runtime/index.js';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const cluster = await testCluster();
const ns = await testNamespace(cluster.client, 'rt-api');
const cms = new ResourceClient<ConfigMap>(cluster.client, ConfigMaps, 'hwe-test');

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('expected the request to fail');
}

test('create, get, list with paging, update, delete', async () => {
  const prefix = uniqueName('cm');
  for (let i = 0; i < 5; i++) {
    await cms.create({
      metadata: { name: `${prefix}-${i}`, namespace: ns, labels: { set: prefix } },
      data: { i: String(i) },
    });
  }
  const got = await cms.get(`${prefix}-3`, ns);
  assert.equal(got.data?.i, '3');
  const pages: number[] = [];
  const all = await cms.listAll({ namespace: ns, labelSelector: `set=${prefix}`, pageSize: 2 });
  assert.equal(all.items.length, 5);
  assert.ok(all.resourceVersion);
  const first = await cms.list({ namespace: ns, labelSelector: `set=${prefix}`, limit: 2 });
  pages.push(first.items.length);
  assert.deepEqual(pages, [2]);
  assert.ok(first.metadata.continue, 'a continue token for the next page');
  got.data = { i: 'three' };
  const updated = await cms.update(got);
  assert.equal(updated.data?.i, 'three');
  await cms.delete(`${prefix}-3`, { namespace: ns });
  assert.equal(await cms.find(`${prefix}-3`, ns), undefined);
  assert.equal(await cms.deleteIfExists(`${prefix}-3`, { namespace: ns }), false);
});

test('errors are values: NotFound, AlreadyExists, Conflict, Invalid with causes, Forbidden', async () => {
  const name = uniqueName('cm');
  assert.ok(isKubeError(await rejection(cms.get(name, ns)), 'NotFound'));
  const made = await cms.create({ metadata: { name, namespace: ns }, data: { a: '1' } });
  assert.ok(
    isKubeError(
      await rejection(cms.create({ metadata: { name, namespace: ns } })),
      'AlreadyExists',
    ),
  );
  await cms.update({ ...made, data: { a: '2' } });
  const stale = await rejection(cms.update({ ...made, data: { a: '3' } }));
  assert.ok(isKubeError(stale, 'Conflict'), String(stale));
  const invalid = await rejection(cms.create({ metadata: { name: 'Not_Valid', namespace: ns } }));
  assert.ok(isKubeError(invalid, 'Invalid'));
  assert.ok(
    invalid.causes.some((c) => c.field === 'metadata.name'),
    JSON.stringify(invalid.causes),
  );
  const forbidden = await rejection(
    new ResourceClient(cluster.client, Namespaces).delete('kube-system', { dryRun: true }),
  );
  // Deleting kube-system is refused by the NamespaceLifecycle admission plugin.
  assert.ok(isKubeError(forbidden, 'Forbidden'), String(forbidden));
});

test('patches: merge, JSON, strategic; server-side apply with our field manager', async () => {
  const name = uniqueName('cm');
  await cms.create({ metadata: { name, namespace: ns }, data: { a: '1', b: '2' } });
  let o = await cms.patch(name, { data: { b: null, c: '3' } }, { namespace: ns });
  assert.deepEqual(o.data, { a: '1', c: '3' });
  o = await cms.patch(name, [{ op: 'replace', path: '/data/a', value: 'x' }], {
    namespace: ns,
    type: 'json',
  });
  assert.equal(o.data?.a, 'x');
  o = await cms.patch(
    name,
    { metadata: { labels: { l: 'v' } } },
    { namespace: ns, type: 'strategic' },
  );
  assert.equal(o.metadata.labels?.l, 'v');

  const applied = await cms.apply({ metadata: { name, namespace: ns }, data: { owned: 'yes' } });
  assert.equal(applied.data?.owned, 'yes');
  const managers = (applied.metadata.managedFields as { manager: string; operation: string }[]).map(
    (m) => `${m.manager}/${m.operation}`,
  );
  assert.ok(managers.includes('hwe-test/Apply'), managers.join(','));
  const other = new ResourceClient<ConfigMap>(cluster.client, ConfigMaps, 'someone-else');
  const conflict = await rejection(
    other.apply({ metadata: { name, namespace: ns }, data: { owned: 'no' } }),
  );
  assert.ok(
    isKubeError(conflict, 'Conflict'),
    'another manager cannot take our field without force',
  );
  const forced = await other.apply(
    { metadata: { name, namespace: ns }, data: { owned: 'no' } },
    { force: true },
  );
  assert.equal(forced.data?.owned, 'no');
});

test('status subresource writes only status', async () => {
  const name = uniqueName('ns');
  const nsApi = new ResourceClient<
    KubeObject & {
      spec?: { finalizers?: string[] };
      status?: { phase?: string; conditions?: unknown[] };
    }
  >(cluster.client, Namespaces, 'hwe-test');
  await nsApi.create({ metadata: { name } });
  try {
    const cond = {
      type: 'NamespaceDeletionDiscoveryFailure',
      status: 'False',
      reason: 'Test',
      message: 'm',
    };
    const o = await nsApi.patchStatus(name, {
      status: { conditions: [cond] },
      spec: { finalizers: ['kubernetes', 'hwe.io/ignored'] },
    });
    assert.equal((o.status?.conditions?.[0] as { reason: string }).reason, 'Test');
    assert.deepEqual(o.spec?.finalizers, ['kubernetes'], 'spec is not written through /status');
    const cur = await nsApi.get(name);
    const u = await nsApi.updateStatus({ ...cur, status: { ...cur.status, conditions: [] } });
    assert.deepEqual(u.status?.conditions ?? [], []);
  } finally {
    await nsApi.deleteIfExists(name);
  }
});

test('delete with preconditions refuses a changed object', async () => {
  const name = uniqueName('cm');
  const made = await cms.create({ metadata: { name, namespace: ns }, data: { a: '1' } });
  await cms.patch(name, { data: { a: '2' } }, { namespace: ns });
  const e = await rejection(
    cms.delete(name, {
      namespace: ns,
      preconditions: { resourceVersion: made.metadata.resourceVersion },
    }),
  );
  assert.ok(isKubeError(e, 'Conflict'), String(e));
  const wrongUid = await rejection(
    cms.delete(name, { namespace: ns, preconditions: { uid: 'not-the-uid' } }),
  );
  assert.ok(isKubeError(wrongUid, 'Conflict'));
  await cms.delete(name, { namespace: ns, preconditions: { uid: made.metadata.uid } });
  assert.equal(await cms.find(name, ns), undefined);
});

test('createOrPatch writes only when something differs', async () => {
  const name = uniqueName('cm');
  const desired = (o: ConfigMap) => {
    o.metadata.labels = { ...o.metadata.labels, app: 'hwe' };
    o.data = { ...o.data, k: 'v' };
  };
  const r1 = await createOrPatch(cms, { metadata: { name, namespace: ns } }, desired);
  assert.equal(r1.result, 'created');
  const r2 = await createOrPatch(cms, { metadata: { name, namespace: ns } }, desired);
  assert.equal(r2.result, 'unchanged');
  assert.equal(r2.object.metadata.resourceVersion, r1.object.metadata.resourceVersion);
  await cms.patch(
    name,
    { data: { other: 'kept' }, metadata: { labels: { theirs: 'y' } } },
    { namespace: ns },
  );
  const r3 = await createOrPatch(cms, { metadata: { name, namespace: ns } }, (o) => {
    o.data = { ...o.data, k: 'v2' };
  });
  assert.equal(r3.result, 'updated');
  assert.deepEqual(r3.object.data, { k: 'v2', other: 'kept' });
  assert.equal(r3.object.metadata.labels?.theirs, 'y');
});

test('finalizers are added and removed without clobbering others', async () => {
  const name = uniqueName('cm');
  const made = await cms.create({
    metadata: { name, namespace: ns, finalizers: ['other.io/keep'] },
  });
  const withOurs = await addFinalizer(cms, made, 'hwe.io/test');
  assert.deepEqual(withOurs.metadata.finalizers, ['other.io/keep', 'hwe.io/test']);
  assert.equal(await addFinalizer(cms, withOurs, 'hwe.io/test'), withOurs, 'no write when present');
  // Someone adds a finalizer after we read: our stale write must fail rather than drop theirs.
  await cms.patch(
    name,
    { metadata: { finalizers: ['other.io/keep', 'hwe.io/test', 'third.io/x'] } },
    { namespace: ns },
  );
  const stale = await rejection(removeFinalizer(cms, withOurs, 'hwe.io/test'));
  assert.ok(isKubeError(stale, 'Conflict'));
  const fresh = await cms.get(name, ns);
  const after = await removeFinalizer(cms, fresh, 'hwe.io/test');
  assert.deepEqual(after?.metadata.finalizers, ['other.io/keep', 'third.io/x']);
  await cms.patch(name, { metadata: { finalizers: null } }, { namespace: ns });
});

test('createOrPatch writes status through /status for kinds that have it', async () => {
  type Ns = KubeObject & { status?: { conditions?: Condition[] } };
  const nsApi = new ResourceClient<Ns>(cluster.client, Namespaces, 'hwe-test');
  const name = uniqueName('ns');
  await nsApi.create({ metadata: { name } });
  const desired = (o: Ns) => {
    o.metadata.labels = { ...o.metadata.labels, team: 'hwe' };
    const { conditions } = setCondition(o.status?.conditions, {
      type: 'NamespaceDeletionDiscoveryFailure',
      status: 'False',
      reason: 'Checked',
      message: 'fine',
    });
    o.status = { ...o.status, conditions };
  };
  try {
    const r = await createOrPatch(nsApi, { metadata: { name } }, desired);
    assert.equal(r.result, 'updated');
    const cur = await nsApi.get(name);
    assert.equal(cur.metadata.labels?.team, 'hwe');
    assert.equal(cur.status?.conditions?.[0]?.reason, 'Checked');
    assert.equal((await createOrPatch(nsApi, { metadata: { name } }, desired)).result, 'unchanged');
  } finally {
    await nsApi.deleteIfExists(name);
  }
});
