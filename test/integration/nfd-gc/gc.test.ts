/**
 * nfd-gc against a real control plane: it deletes the NodeFeature and NodeResourceTopology
 * objects of a deleted node, and at start those of nodes that no longer exist, and leaves the
 * objects of live nodes alone.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { installCrds } from '../../../src/api/index.js';
import { NfdGc } from '../../../src/nfd/gc/index.js';
import { isKubeError, type KubeClient } from '../../../src/runtime/client.js';
import { silentLogger } from '../../../src/runtime/index.js';
import {
  eventually,
  onCleanup,
  testCluster,
  testNamespace,
  testNodes,
  uniqueName,
} from '../../support/cluster.js';

const NFD = '/apis/nfd.k8s-sigs.io/v1alpha1';
const NRT = '/apis/topology.node.k8s.io/v1alpha2/noderesourcetopologies';

describe('nfd-gc', { timeout: 180_000 }, () => {
  let client: KubeClient;
  let ns: string;
  let gc: NfdGc;
  const id = uniqueName('nfdgc');
  const [live, doomed, never] = ['live', 'doomed', 'never'].map((s) => `${id}-${s}`) as [
    string,
    string,
    string,
  ];
  const labels = { 'hwe-test': id };

  const exists = async (path: string) => {
    try {
      await client.request(path);
      return true;
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return false;
      throw e;
    }
  };
  const nf = (node: string) => `${NFD}/namespaces/${ns}/nodefeatures/${node}`;
  const nrt = (node: string) => `${NRT}/${node}`;

  async function createObjects(node: string): Promise<void> {
    await client.request(`${NFD}/namespaces/${ns}/nodefeatures`, {
      method: 'POST',
      body: {
        apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
        kind: 'NodeFeature',
        metadata: {
          name: node,
          namespace: ns,
          labels: { ...labels, 'nfd.node.kubernetes.io/node-name': node },
        },
        spec: {},
      },
    });
    await client.request(NRT, {
      method: 'POST',
      body: {
        apiVersion: 'topology.node.k8s.io/v1alpha2',
        kind: 'NodeResourceTopology',
        metadata: { name: node, labels },
        zones: [],
      },
    });
    onCleanup(() => client.request(nrt(node), { method: 'DELETE' }));
  }

  before(async () => {
    client = (await testCluster()).client;
    await installCrds(client);
    ns = await testNamespace(client, 'nfdgc');
    await testNodes(
      client,
      [live, doomed].map((name) => ({ name, labels })),
    );
    for (const n of [live, doomed, never]) await createObjects(n);
    gc = new NfdGc({ client, labelSelector: `hwe-test=${id}`, log: silentLogger });
    onCleanup(() => gc.stop());
    await gc.start();
  });

  it('deletes at start the objects of a node that does not exist', async () => {
    await eventually(
      'objects of the missing node deleted',
      async () => !(await exists(nf(never))) && !(await exists(nrt(never))),
    );
    assert.equal(gc.stats.nodeFeaturesDeleted >= 1, true);
  });

  it('deletes the objects of a node when it is deleted, and only those', async () => {
    assert.equal(await exists(nf(doomed)), true);
    await client.request(`/api/v1/nodes/${doomed}`, { method: 'DELETE' });
    await eventually(
      'objects of the deleted node deleted',
      async () => !(await exists(nf(doomed))) && !(await exists(nrt(doomed))),
    );
    assert.equal(await exists(nf(live)), true);
    assert.equal(await exists(nrt(live)), true);
  });
});
