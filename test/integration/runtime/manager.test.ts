import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { testCluster, testNamespace, uniqueName, eventually } from '../../support/cluster.js';
import {
  ConfigMaps,
  createLogger,
  EventRecorder,
  Events,
  Manager,
  ResourceClient,
  type KubeObject,
} from '../../../src/runtime/index.js';
import { COMMIT, VERSION } from '../../../src/version.js';
import type { ConfigMap } from './sample.js';

const cluster = await testCluster();
const ns = await testNamespace(cluster.client, 'rt-manager');

test('the manager logs version and commit, serves /healthz, /readyz and /metrics', async () => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    name: 'rt-test',
    level: 'info',
    write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
  });
  const mgr = new Manager({
    client: cluster.client,
    name: 'rt-manager-test',
    log,
    healthProbeAddress: '127.0.0.1:0',
    metricsAddress: '127.0.0.1:0',
  });
  mgr.informers.informer(ConfigMaps, { namespace: ns });
  let healthy = true;
  mgr.addHealthCheck('custom', () => healthy);
  await mgr.start();
  after(() => mgr.stop());
  const start = lines.find((l) => l.msg === 'starting manager')!;
  assert.equal(start.version, VERSION);
  assert.equal(start.commit, COMMIT);
  assert.equal(start.level, 'info');
  assert.equal(start.logger, 'rt-test');
  assert.match(String(start.ts), /^\d{4}-\d\d-\d\dT/);

  const h = `http://127.0.0.1:${mgr.addresses.health!.port}`;
  const m = `http://127.0.0.1:${mgr.addresses.metrics!.port}`;
  assert.equal((await fetch(`${h}/readyz`)).status, 200);
  assert.equal((await fetch(`${h}/healthz`)).status, 200);
  healthy = false;
  const bad = await fetch(`${h}/healthz`);
  assert.equal(bad.status, 500);
  assert.match(await bad.text(), /custom/);
  const metrics = await (await fetch(`${m}/metrics`)).text();
  assert.match(metrics, /hwe_build_info\{version="[^"]+",commit="[^"]+"\} 1/);
  assert.match(metrics, /process_resident_memory_bytes \d+/);
  assert.match(metrics, /hwe_informer_objects\{kind="ConfigMap"\}/);
  assert.equal((await fetch(`${h}/metrics`)).status, 404, 'metrics only where asked');
});

test('the event recorder aggregates repeats into one Event with a count', async () => {
  const cms = new ResourceClient<ConfigMap>(cluster.client, ConfigMaps);
  const obj = await cms.create({ metadata: { name: uniqueName('subject'), namespace: ns } });
  const rec = new EventRecorder(cluster.client, { component: 'hwe-test' });
  const subject = { ...obj, apiVersion: 'v1', kind: 'ConfigMap' };
  await Promise.all(
    Array.from({ length: 10 }, () => rec.event(subject, 'Warning', 'Failed', 'it broke')),
  );
  await rec.event(subject, 'Normal', 'Fixed', 'it works');
  const events = new ResourceClient<
    KubeObject & { reason: string; count: number; involvedObject: { uid: string } }
  >(cluster.client, Events);
  const list = await eventually('two events', async () => {
    const l = await events.list({
      namespace: ns,
      fieldSelector: `involvedObject.uid=${obj.metadata.uid}`,
    });
    return l.items.length === 2 ? l.items : undefined;
  });
  const failed = list.find((e) => e.reason === 'Failed')!;
  assert.equal(failed.count, 10);
  assert.equal(list.find((e) => e.reason === 'Fixed')!.count, 1);
});

test('two managers in one process can share one informer per kind', async () => {
  const first = new Manager({
    client: cluster.client,
    name: 'rt-share-1',
    log: createLogger({ write: () => undefined }),
  });
  const second = new Manager({
    client: cluster.client,
    name: 'rt-share-2',
    log: createLogger({ write: () => undefined }),
    informers: first.informers,
  });
  const a = first.informers.informer(ConfigMaps, { namespace: ns });
  assert.equal(second.informers.informer(ConfigMaps, { namespace: ns }), a);
  await first.start();
  await second.start();
  await second.stop();
  assert.equal(a.running, true, 'stopping the borrower leaves the informers to their owner');
  await first.stop();
  assert.equal(a.running, false);
});
