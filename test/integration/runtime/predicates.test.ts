import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KWOK_NODE_ANNOTATION } from '../../../src/cluster/local.js';
import { simNodeObject } from '../../../src/cluster/nodes.js';
import { eventually, testCluster, uniqueName } from '../../support/cluster.js';
import {
  Manager,
  Nodes,
  ResourceClient,
  nodeChangedBeyondHeartbeat,
  silentLogger,
  type KubeObject,
} from '../../../src/runtime/index.js';

const cluster = await testCluster();
const group = uniqueName('hb');
const selector = `hwe.test/group=${group}`;
const nodes = new ResourceClient<KubeObject>(cluster.client, Nodes, 'hwe-test');
const name = uniqueName('node');

const mgr = new Manager({ client: cluster.client, name: 'rt-predicates', log: silentLogger });
/** resourceVersions of the Node updates that got past the heartbeat filter. */
const passed = new Set<string>();
mgr
  .controller('node-watch')
  .for(Nodes, {
    predicates: [
      nodeChangedBeyondHeartbeat,
      { update: (_o, n) => (passed.add(n.metadata.resourceVersion!), true) },
    ],
    informer: { labelSelector: selector },
  })
  .complete(async () => undefined);
// Registered after the controller's handler on the same shared informer: when this sees an
// update, the controller's predicates have already judged it.
const seen = new Set<string>();
mgr.informers
  .informer(Nodes, { labelSelector: selector })
  .addEventHandler({ onUpdate: (_o, n) => seen.add(n.metadata.resourceVersion!) });

before(async () => {
  const o = simNodeObject({ name, labels: { 'hwe.test/group': group } });
  // Not simulated by kwok: this test plays the kubelet itself.
  delete o.metadata.annotations![KWOK_NODE_ANNOTATION];
  await nodes.create(o);
  await mgr.start();
});
after(async () => {
  await mgr.stop();
  await nodes.deleteIfExists(name).catch(() => undefined);
});

/** Writes to the node's status; resolves with the resourceVersion once the informer has it. */
async function statusWrite(status: unknown): Promise<string> {
  const rv = (await nodes.patchStatus(name, { status })).metadata.resourceVersion!;
  await eventually(`the informer to see ${rv}`, async () => seen.has(rv));
  return rv;
}

const ready = (heartbeat: string) => ({
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'KubeletReady',
      message: 'kubelet is posting ready status',
      lastHeartbeatTime: heartbeat,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    },
  ],
});

test('Node heartbeats do not wake a controller filtered with nodeChangedBeyondHeartbeat', async () => {
  // Other writers (the node lifecycle controller's taints) may update the node meanwhile; each
  // update event is judged on its own, so only our writes' verdicts are checked.
  const becameReady = await statusWrite(ready('2026-01-01T00:00:00Z'));
  assert.ok(passed.has(becameReady), 'the Ready condition appearing is news');
  for (let i = 1; i <= 3; i++) {
    const rv = await statusWrite(ready(`2026-01-01T00:00:0${i}Z`));
    assert.ok(!passed.has(rv), `heartbeat ${i} was filtered`);
  }
  const images = await statusWrite({ images: [{ names: ['example.com/a:1'], sizeBytes: 1 }] });
  assert.ok(!passed.has(images), 'an image list refresh was filtered');
  const reboot = await statusWrite({ nodeInfo: { bootID: uniqueName('boot') } });
  assert.ok(passed.has(reboot), 'a reboot (new bootID) passes');
  const notReady = await statusWrite({
    conditions: [
      {
        ...ready('2026-01-01T00:01:00Z').conditions[0],
        status: 'False',
        reason: 'KubeletNotReady',
      },
    ],
  });
  assert.ok(passed.has(notReady), 'NotReady passes');
  const labelled = (
    await nodes.patch(name, { metadata: { labels: { 'feature.node.kubernetes.io/x': 'true' } } })
  ).metadata.resourceVersion!;
  await eventually('the label update', async () => seen.has(labelled));
  assert.ok(passed.has(labelled), 'a label change passes');
});
