import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, testCluster, testNamespace, uniqueName } from '../../support/cluster.js';
import {
  ConfigMaps,
  Manager,
  ResourceClient,
  silentLogger,
  type Request,
} from '../../../src/runtime/index.js';
import {
  FAIL_ANNOTATION,
  FINALIZER,
  mirrorController,
  mirrorName,
  SOURCE_LABEL,
  type ConfigMap,
} from './sample.js';

const cluster = await testCluster();
const ns = await testNamespace(cluster.client, 'rt-ctrl');
const set = uniqueName('set');
const api = new ResourceClient<ConfigMap>(cluster.client, ConfigMaps, 'hwe-test');

/** Per key: reconciles started, reconciles running now, the most ever running at once, retries seen. */
const calls = new Map<
  string,
  { count: number; inFlight: number; maxInFlight: number; retries: number[]; at: number[] }
>();
const stat = (r: Request) => {
  const k = `${r.namespace}/${r.name}`;
  let s = calls.get(k);
  if (!s) calls.set(k, (s = { count: 0, inFlight: 0, maxInFlight: 0, retries: [], at: [] }));
  return s;
};

const mgr = new Manager({ client: cluster.client, name: 'rt-controller-test', log: silentLogger });
mirrorController(mgr, set, {
  started(req, ctx) {
    const s = stat(req);
    s.count++;
    s.inFlight++;
    s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
    s.retries.push(ctx.retries);
    s.at.push(performance.now());
  },
  finished(req) {
    stat(req).inFlight--;
  },
});

before(() => mgr.start());
after(() => mgr.stop());

const source = (
  name: string,
  data: Record<string, string>,
  annotations?: Record<string, string>,
): ConfigMap => ({
  metadata: { name, namespace: ns, labels: { [SOURCE_LABEL]: set }, annotations },
  data,
});

test('create, update and delete converge', async () => {
  const name = uniqueName('src');
  await api.create(source(name, { a: '1' }));
  const m = await eventually('the mirror', () => api.find(mirrorName(name), ns));
  assert.deepEqual(m.data, { a: '1' });
  assert.equal(m.metadata.ownerReferences?.[0]?.name, name);
  assert.equal(m.metadata.ownerReferences?.[0]?.controller, true);
  const src = await api.get(name, ns);
  assert.deepEqual(src.metadata.finalizers, [FINALIZER]);

  await api.patch(name, { data: { a: '2', b: '3' } }, { namespace: ns });
  await eventually('the mirror to follow the update', async () => {
    const cur = await api.get(mirrorName(name), ns);
    return cur.data?.a === '2' && cur.data?.b === '3';
  });

  // Someone edits the mirror: the owner's controller puts it back.
  await api.patch(mirrorName(name), { data: { a: 'tampered' } }, { namespace: ns });
  await eventually(
    'the mirror to be repaired',
    async () => (await api.get(mirrorName(name), ns)).data?.a === '2',
  );

  await api.delete(name, { namespace: ns });
  await eventually('source and mirror to be gone', async () => {
    const [s, m2] = await Promise.all([api.find(name, ns), api.find(mirrorName(name), ns)]);
    return s === undefined && m2 === undefined;
  });
});

test('a burst of 1,000 events on one key is folded and never reconciled concurrently', async (t) => {
  const name = uniqueName('burst');
  await api.create(source(name, { n: '0' }));
  await eventually('the mirror', () => api.find(mirrorName(name), ns));
  const s = stat({ namespace: ns, name });
  const before = s.count;
  let next = 0;
  const writer = async () => {
    while (next < 1000) {
      const i = next++;
      await api.patch(name, { data: { n: String(i) } }, { namespace: ns });
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 4 }, writer));
  const writeMs = performance.now() - t0;
  const last = (await api.get(name, ns)).data?.n;
  await eventually(
    'the mirror to hold the last value',
    async () => (await api.get(mirrorName(name), ns)).data?.n === last,
  );
  const runs = s.count - before;
  assert.equal(s.maxInFlight, 1, 'two workers never hold the same key');
  assert.ok(runs < 500, `1,000 events caused ${runs} reconciles`);
  t.diagnostic(`1000 writes in ${writeMs.toFixed(0)} ms → ${runs} reconciles`);
  assert.ok(runs >= 1);
});

test('a failing reconcile backs off exponentially and recovers when the cause goes', async () => {
  const name = uniqueName('fail');
  // Created with the finalizer, so the failing reconciles write nothing and no watch event
  // wakes them early: only the backoff schedules the retries.
  await api.create({
    ...source(name, { a: '1' }, { [FAIL_ANNOTATION]: 'yes' }),
    metadata: {
      ...source(name, {}).metadata,
      annotations: { [FAIL_ANNOTATION]: 'yes' },
      finalizers: [FINALIZER],
    },
  });
  const s = stat({ namespace: ns, name });
  await eventually('seven failed attempts', async () => s.count >= 7, 30_000);
  // Each retry knows how many failures came before it, and waits at least 5 ms · 2^(n-1).
  assert.deepEqual(s.retries.slice(0, 7), [0, 1, 2, 3, 4, 5, 6]);
  for (let n = 1; n < 7; n++) {
    const gap = s.at[n]! - s.at[n - 1]!;
    assert.ok(gap >= 0.9 * 5 * 2 ** (n - 1), `retry ${n} came after ${gap.toFixed(1)} ms`);
  }
  assert.equal(await api.find(mirrorName(name), ns), undefined);

  await api.patch(
    name,
    { metadata: { annotations: { [FAIL_ANNOTATION]: null } } },
    { namespace: ns },
  );
  await eventually('the mirror once the cause is gone', () => api.find(mirrorName(name), ns));
  // After a success the key's failure history is forgotten.
  const seen = s.count;
  await api.patch(name, { data: { a: '2' } }, { namespace: ns });
  await eventually('another reconcile', async () => s.count > seen);
  assert.equal(s.retries.at(-1), 0);
});

test('metrics use controller-runtime names', async () => {
  const text = mgr.metrics.registry.expose();
  const controller = `mirror-${set}`;
  for (const line of [
    `controller_runtime_reconcile_total{controller="${controller}",result="success"}`,
    `controller_runtime_reconcile_errors_total{controller="${controller}"}`,
    `controller_runtime_reconcile_time_seconds_count{controller="${controller}"}`,
    `workqueue_adds_total{name="${controller}",controller="${controller}"}`,
    `workqueue_depth{name="${controller}",controller="${controller}"}`,
    `workqueue_queue_duration_seconds_count{name="${controller}",controller="${controller}"}`,
    `workqueue_retries_total{name="${controller}",controller="${controller}"}`,
    `workqueue_unfinished_work_seconds{name="${controller}",controller="${controller}"}`,
    `workqueue_longest_running_processor_seconds{name="${controller}",controller="${controller}"}`,
    `controller_runtime_active_workers{controller="${controller}"}`,
    `controller_runtime_max_concurrent_reconciles{controller="${controller}"} 4`,
  ]) {
    assert.ok(text.includes(line), `missing ${line}`);
  }
  assert.match(text, /hwe_informer_objects\{kind="ConfigMap"\} \d+/);
});
