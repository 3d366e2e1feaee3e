/**
 * Lists and watches decoded as the apiserver sends them: empty lists of every informer kind
 * (built-in kinds, custom resources; full objects and metadata-only), where a custom resource's
 * empty list comes with `"items": null`, and watch streams whose characters span chunks.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, testCluster, testNamespace, uniqueName } from '../../support/cluster.js';
import { installCrds, NodeModulesConfigs } from '../../../src/api/index.js';
import {
  ConfigMaps,
  InformerFactory,
  isKubeError,
  METADATA_ONLY_LIST_ACCEPT,
  Nodes,
  Pods,
  ResourceClient,
  resourceType,
  type KubeObject,
  type ResourceType,
} from '../../../src/runtime/index.js';
import type { ConfigMap } from './sample.js';

const cluster = await testCluster();
const client = cluster.client;
const ns = await testNamespace(client, 'rt-empty');
await installCrds(client);

/** A custom resource of our own, so that nothing else in the shared cluster creates one. */
const group = `${uniqueName('empty')}.hwe.test`;
const Blanks = resourceType<KubeObject & { spec?: { n?: number } }>({
  group,
  version: 'v1',
  plural: 'blanks',
  kind: 'Blank',
  namespaced: true,
});
const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
await client.request(CRDS, {
  method: 'POST',
  body: {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `blanks.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'blanks', singular: 'blank', kind: 'Blank', listKind: 'BlankList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { n: { type: 'integer' } } } },
            },
          },
        },
      ],
    },
  },
});
after(() => client.request(`${CRDS}/blanks.${group}`, { method: 'DELETE' }).catch(() => {}));
const blanks = new ResourceClient(client, Blanks, 'hwe-test');
await eventually('the new CRD to be served', async () => {
  try {
    await blanks.list({ namespace: ns });
    return true;
  } catch (e) {
    if (isKubeError(e, 'NotFound')) return false;
    throw e;
  }
});

const factory = new InformerFactory(client);
after(() => factory.stop());
const nothing = `hwe.test/none=${uniqueName('x')}`;

test('the apiserver sends "items": null for an empty custom resource list; decoding copes', async () => {
  // What the server sends, read raw: this is why decoders must not trust `items`.
  const raw = JSON.parse(
    await client.requestText(`/apis/${group}/v1/blanks`, {}, METADATA_ONLY_LIST_ACCEPT),
  ) as { items?: unknown };
  assert.ok(raw.items === null || Array.isArray(raw.items), `items: ${JSON.stringify(raw.items)}`);
  for (const metadataOnly of [false, true]) {
    const page = await blanks.list({ metadataOnly });
    assert.deepEqual(page.items, []);
    const all = await blanks.listAll({ namespace: ns, metadataOnly, pageSize: 1 });
    assert.deepEqual(all.items, []);
    assert.ok(all.resourceVersion, 'an empty list still has a resourceVersion to watch from');
  }
});

test('informers of every kind sync on empty lists, full and metadata-only, then see changes', async () => {
  const kinds: { type: ResourceType; namespace?: string; labelSelector?: string }[] = [
    { type: Nodes, labelSelector: nothing },
    { type: Pods, namespace: ns },
    { type: ConfigMaps, namespace: ns, labelSelector: nothing },
    { type: NodeModulesConfigs, labelSelector: nothing },
    { type: Blanks },
    { type: Blanks, namespace: ns },
  ];
  const infs = kinds.flatMap((k) =>
    [false, true].map((metadataOnly) => ({
      what: `${k.type.kind}${k.namespace ? ' in a namespace' : ''}${metadataOnly ? ' (metadata)' : ''}`,
      inf: factory.informer(k.type, {
        namespace: k.namespace,
        labelSelector: k.labelSelector,
        metadataOnly,
      }),
    })),
  );
  factory.start();
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 60_000);
  try {
    assert.equal(await factory.waitForSync(ac.signal), true, 'every informer synced');
  } finally {
    clearTimeout(timer);
  }
  // (A watch opened while a just-installed CRD settles may fail once and be retried: that is
  // fine. A list that cannot be decoded fails every time, and the sync above never ends.)
  for (const { what, inf } of infs) assert.equal(inf.size, 0, what);
  // The watches opened from those empty lists deliver what comes next.
  const name = uniqueName('blank');
  await blanks.create({ metadata: { name, namespace: ns }, spec: { n: 1 } });
  const blankInfs = infs.filter(({ inf }) => inf.api.type === Blanks);
  await eventually('the new object in every Blank informer', async () =>
    blankInfs.every(({ inf }) => inf.getByName(name, ns) !== undefined),
  );
  for (const { what, inf } of blankInfs) {
    const o = inf.getByName(name, ns)!;
    const meta = inf.options.metadataOnly === true;
    assert.equal(o.kind, meta ? 'PartialObjectMetadata' : 'Blank', what);
    assert.equal((o as { spec?: unknown }).spec === undefined, meta, what);
  }
  await blanks.delete(name, { namespace: ns });
  await eventually('the deletion in every Blank informer', async () =>
    blankInfs.every(({ inf }) => inf.size === 0),
  );
});

test('watch streams decode characters split across chunks', async () => {
  const cms = new ResourceClient<ConfigMap>(client, ConfigMaps, 'hwe-test');
  const set = uniqueName('utf8');
  const inf = factory.informer<ConfigMap>(ConfigMaps, {
    namespace: ns,
    labelSelector: `hwe.test/set=${set}`,
  });
  assert.equal(await inf.waitForSync(), true);
  // Two-, three- and four-byte characters at every offset: some must straddle a chunk's end.
  const text = 'é€😀a'.repeat(40_000);
  for (let i = 0; i < 3; i++) {
    await cms.create({
      metadata: { name: `${set}-${i}`, namespace: ns, labels: { 'hwe.test/set': set } },
      data: { text: text.slice(i) },
    });
  }
  await eventually('three objects over the watch', async () => inf.size === 3);
  for (let i = 0; i < 3; i++) {
    assert.equal(inf.getByName(`${set}-${i}`, ns)?.data?.text, text.slice(i), `object ${i}`);
  }
});
