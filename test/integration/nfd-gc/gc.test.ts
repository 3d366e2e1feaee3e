/**
 * nfd-gc against a real control plane: it deletes the NodeFeature and NodeResourceTopology
 * objects of a deleted node at once; a periodic sweep deletes those of nodes that do not exist,
 * but only once they are older than the grace period, so objects created before their Node
 * registers survive; objects of live nodes are left alone. The gc's clock is moved forward
 * instead of waiting out the grace period.
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

describe('nfd-gc', { timeout: 240_000 }, () => {
  let client: KubeClient;
  let ns: string;
  let gc: NfdGc;
  const id = uniqueName('nfdgc');
  const [live, doomed, never, late] = ['live', 'doomed', 'never', 'late'].map(
    (s) => `${id}-${s}`,
  ) as [string, string, string, string];
  const labels = { 'hwe-test': id };
  /** How far the gc's clock is ahead of the real one. */
  let ahead = 0;
  const GRACE_MS = 10 * 60_000;

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
  const both = async (node: string) => (await exists(nf(node))) && (await exists(nrt(node)));
  const neither = async (node: string) => !(await exists(nf(node))) && !(await exists(nrt(node)));
  /** Resolves once `n` more sweeps have run completely (the work they queued is done). */
  const sweeps = async (n: number) => {
    const target = gc.stats.sweeps + n + 1;
    await eventually(`${n} sweeps`, async () => gc.stats.sweeps >= target, 60_000);
  };

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
    for (const n of [live, doomed, never, late]) await createObjects(n);
    gc = new NfdGc({
      client,
      labelSelector: `hwe-test=${id}`,
      intervalMs: 500,
      gracePeriodMs: GRACE_MS,
      now: () => Date.now() + ahead,
      log: silentLogger,
    });
    onCleanup(() => gc.stop());
    await gc.start();
  });

  it('leaves young objects of a missing node alone, sweep after sweep', async () => {
    await sweeps(3);
    assert.equal(await both(never), true);
    assert.equal(await both(late), true);
    assert.equal(gc.stats.nodeFeaturesDeleted + gc.stats.topologiesDeleted, 0);
  });

  it('deletes the objects of a node when it is deleted, however young', async () => {
    await client.request(`/api/v1/nodes/${doomed}`, { method: 'DELETE' });
    await eventually('objects of the deleted node deleted', () => neither(doomed));
    assert.equal(await both(live), true);
    assert.equal(await both(never), true);
  });

  it('sweeps away old objects of a node that does not exist, not those whose node came', async () => {
    // Its Node registers after its objects were created: they must stay.
    await testNodes(client, [{ name: late, labels }]);
    ahead = GRACE_MS + 60_000;
    await eventually('objects of the missing node swept', () => neither(never));
    await sweeps(2);
    assert.equal(await both(late), true);
    assert.equal(await both(live), true);
    assert.ok(gc.stats.topologiesDeleted >= 2);
  });
});
