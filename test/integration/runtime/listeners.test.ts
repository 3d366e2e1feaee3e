/**
 * Abort listeners: a manager with many informers starts without MaxListenersExceededWarning,
 * and the signals the runtime hands out carry no more listeners after hundreds of reconciles,
 * requests and watches than before them.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { eventually, testCluster, testNamespace, uniqueName } from '../../support/cluster.js';
import {
  ConfigMaps,
  Manager,
  Pods,
  silentLogger,
  sleep,
  type Controller,
} from '../../../src/runtime/index.js';

const cluster = await testCluster();
const ns = await testNamespace(cluster.client, 'rt-listeners');

const warnings: Error[] = [];
const onWarning = (w: Error) => warnings.push(w);
process.on('warning', onWarning);
after(() => process.off('warning', onWarning));
const listenerWarnings = () =>
  warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message);

const listeners = (s: AbortSignal) => getEventListeners(s, 'abort').length;

test('many informers, reconciles, requests and watches leave no abort listeners behind', async () => {
  const mgr = new Manager({
    client: cluster.client,
    name: 'rt-listeners',
    log: silentLogger,
    leaderElection: { namespace: ns, name: uniqueName('lease') },
  });
  after(() => mgr.stop());
  // More kinds than Node's limit of ten listeners per signal.
  for (let i = 0; i < 12; i++) {
    mgr.informers.informer(ConfigMaps, { namespace: ns, labelSelector: `hwe.test/set=s${i}` });
    mgr.informers.informer(ConfigMaps, {
      namespace: ns,
      labelSelector: `hwe.test/set=s${i}`,
      metadataOnly: true,
    });
  }
  const pods = mgr.api(Pods);
  let reconciles = 0;
  let signal: AbortSignal | undefined;
  const c: Controller = mgr
    .controller('listeners')
    .for(ConfigMaps, { informer: { namespace: ns, labelSelector: 'hwe.test/set=s0' } })
    .workers(4)
    .complete(async (req, ctx) => {
      signal = ctx.signal;
      // What a reconcile may do with its signal: requests, a wait, a watch opened and closed.
      await pods.list({ namespace: req.namespace, signal: ctx.signal });
      await sleep(1, ctx.signal);
      if (Number(req.name.slice(1)) % 10 === 0) {
        for await (const ev of pods.watch({
          namespace: req.namespace,
          timeoutSeconds: 1,
          signal: ctx.signal,
        })) {
          void ev;
          break;
        }
      }
      reconciles++;
    });
  await mgr.start();
  await eventually('leadership', async () => mgr.isLeader, 60_000);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(listenerWarnings(), [], 'no MaxListenersExceededWarning at start');

  const counts: number[] = [];
  let managerListeners: number | undefined;
  for (let wave = 1; wave <= 3; wave++) {
    for (let i = 0; i < 100; i++) c.enqueue({ name: `k${i}`, namespace: ns });
    await eventually(`wave ${wave} reconciled`, async () => reconciles >= wave * 100, 120_000);
    await eventually('the workers to go idle', async () => c.queue.length === 0, 60_000);
    await sleep(200);
    counts.push(listeners(signal!));
    // The leader elector's waits come and go; the manager's own listeners stay few.
    const m = listeners(mgr.signal);
    managerListeners ??= m;
    assert.ok(m <= managerListeners + 1, `manager signal: ${m} listeners, was ${managerListeners}`);
  }
  assert.deepEqual(counts, [0, 0, 0], 'no listener left on the reconcile signal');
  assert.deepEqual(listenerWarnings(), []);
});
