import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, testCluster, testNamespace, uniqueName } from '../../support/cluster.js';
import {
  ConfigMaps,
  InformerFactory,
  Pods,
  ResourceClient,
  indexers,
  type KubeObject,
} from '../../../src/runtime/index.js';
import type { ConfigMap } from './sample.js';

const cluster = await testCluster();
const ns = await testNamespace(cluster.client, 'rt-informer');
const cms = new ResourceClient<ConfigMap>(cluster.client, ConfigMaps, 'hwe-test');
const factory = new InformerFactory(cluster.client, { defaults: { pageSize: 3 } });
after(() => factory.stop());

test('one informer per kind and selector, shared; caches without managedFields; paged lists', async () => {
  const set = uniqueName('set');
  for (let i = 0; i < 7; i++) {
    await cms.create({
      metadata: { name: `${set}-${i}`, namespace: ns, labels: { set } },
      data: { i: String(i) },
    });
  }
  const a = factory.informer<ConfigMap>(ConfigMaps, { labelSelector: `set=${set}` });
  const b = factory.informer<ConfigMap>(ConfigMaps, { labelSelector: `set=${set}` });
  assert.equal(a, b, 'the same informer for the same request');
  assert.notEqual(
    a,
    factory.informer(ConfigMaps, { labelSelector: `set=${set}`, metadataOnly: true }),
  );
  const events: string[] = [];
  a.addEventHandler({
    onAdd: (o, initial) => events.push(`add:${o.metadata.name}:${initial}`),
    onUpdate: (_o, n) => events.push(`update:${n.metadata.name}`),
    onDelete: (o) => events.push(`delete:${o.metadata.name}`),
  });
  factory.start();
  assert.equal(await a.waitForSync(), true);
  assert.equal(a.size, 7, 'all pages were read (page size 3)');
  assert.ok(a.stats.lists >= 1);
  const o = a.getByName(`${set}-0`, ns)!;
  assert.equal(o.metadata.managedFields, undefined);
  assert.equal(o.kind, 'ConfigMap', 'list items get their kind back');
  assert.equal(events.filter((e) => e.endsWith(':true')).length, 7);

  await cms.patch(`${set}-1`, { data: { i: 'x' } }, { namespace: ns });
  await cms.delete(`${set}-2`, { namespace: ns });
  await cms.create({ metadata: { name: `${set}-new`, namespace: ns, labels: { set } } });
  await eventually(
    'the watch to deliver',
    async () =>
      events.includes(`update:${set}-1`) &&
      events.includes(`delete:${set}-2`) &&
      events.includes(`add:${set}-new:false`),
  );
  assert.equal(a.getByName(`${set}-1`, ns)?.data?.i, 'x');
  assert.equal(a.getByName(`${set}-2`, ns), undefined);
  // A handler added late hears of every cached object at once.
  const late: string[] = [];
  a.addEventHandler({ onAdd: (x) => late.push(x.metadata.name!) });
  assert.equal(late.length, a.size);
});

test('metadata-only informers hold PartialObjectMetadata', async () => {
  const set = uniqueName('meta');
  await cms.create({
    metadata: { name: set, namespace: ns, labels: { set } },
    data: { big: 'x'.repeat(10_000) },
  });
  const inf = factory.informer<ConfigMap>(ConfigMaps, {
    labelSelector: `set=${set}`,
    metadataOnly: true,
  });
  assert.equal(await inf.waitForSync(), true);
  const o = inf.getByName(set, ns)!;
  assert.equal(o.kind, 'PartialObjectMetadata');
  assert.equal(o.data, undefined, 'no data in the cache');
  assert.equal(o.metadata.labels?.set, set);
  assert.equal(o.metadata.managedFields, undefined);
  await cms.patch(set, { metadata: { labels: { extra: 'y' } } }, { namespace: ns });
  await eventually(
    'the label through the metadata watch',
    async () => inf.getByName(set, ns)?.metadata.labels?.extra === 'y',
  );
});

test('transforms shape what is cached; indexes answer lookups and follow changes', async () => {
  const set = uniqueName('idx');
  const inf = factory.informer<ConfigMap>(ConfigMaps, {
    labelSelector: `set=${set}`,
    transform: (o) => {
      delete o.data;
      return o;
    },
    indexers: { color: indexers.byLabel('color') },
  });
  assert.throws(
    () =>
      factory.informer<ConfigMap>(ConfigMaps, { labelSelector: `set=${set}`, transform: (o) => o }),
    /another transform/,
  );
  await cms.create({
    metadata: { name: `${set}-a`, namespace: ns, labels: { set, color: 'red' } },
    data: { k: 'v' },
  });
  await cms.create({
    metadata: { name: `${set}-b`, namespace: ns, labels: { set, color: 'red' } },
  });
  await cms.create({
    metadata: { name: `${set}-c`, namespace: ns, labels: { set, color: 'blue' } },
  });
  assert.equal(await inf.waitForSync(), true);
  await eventually('three cached', async () => inf.size === 3);
  assert.equal(inf.getByName(`${set}-a`, ns)?.data, undefined, 'the transform dropped data');
  const names = (c: string) =>
    inf
      .byIndex('color', c)
      .map((o) => o.metadata.name)
      .sort();
  assert.deepEqual(names('red'), [`${set}-a`, `${set}-b`]);
  await cms.patch(`${set}-b`, { metadata: { labels: { color: 'blue' } } }, { namespace: ns });
  await eventually('the index to follow', async () => names('blue').length === 2);
  assert.deepEqual(names('red'), [`${set}-a`]);
  await cms.delete(`${set}-a`, { namespace: ns });
  await eventually('the index to drop it', async () => names('red').length === 0);
  assert.throws(() => inf.byIndex('nope', 'x'), /no index "nope"/);
});

test('pods indexed by spec.nodeName', async () => {
  const node = uniqueName('node');
  const pods = new ResourceClient<KubeObject & { spec: unknown }>(cluster.client, Pods, 'hwe-test');
  const inf = factory.informer(Pods, {
    namespace: ns,
    indexers: { nodeName: indexers.byNodeName },
  });
  for (const [name, nodeName] of [
    ['p1', node],
    ['p2', node],
    ['p3', `${node}-other`],
  ] as const) {
    await pods.create({
      metadata: { name, namespace: ns },
      spec: { nodeName, containers: [{ name: 'c', image: 'example.com/none:1' }] },
    });
  }
  await eventually('three pods', async () => inf.size >= 3);
  assert.deepEqual(
    inf
      .byIndex('nodeName', node)
      .map((p) => p.metadata.name)
      .sort(),
    ['p1', 'p2'],
  );
});
