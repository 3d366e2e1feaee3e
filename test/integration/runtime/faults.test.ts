/**
 * Faults the informers must ride out. This file runs its own control plane: it stops and
 * restarts kube-apiserver, which would disturb other suites on the shared one.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Socket } from 'node:net';
import { LocalCluster } from '../../../src/cluster/local.js';
import { eventually, uniqueName } from '../../support/cluster.js';
import {
  ConfigMaps,
  KubeClient,
  Manager,
  ResourceClient,
  silentLogger,
  type ClusterAccess,
  type Informer,
} from '../../../src/runtime/index.js';
import { mirrorController, mirrorName, SOURCE_LABEL, type ConfigMap } from './sample.js';

const cluster = await LocalCluster.start({ ownedByProcess: true });
after(() => cluster.stop());
const client = cluster.client;
const ns = uniqueName('rt-faults');
await client.request('/api/v1/namespaces', { method: 'POST', body: { metadata: { name: ns } } });
const api = new ResourceClient<ConfigMap>(client, ConfigMaps, 'hwe-test');

/** A manager running the sample controller for one set, with quick retries. */
async function startSample(set: string): Promise<{ mgr: Manager; sources: Informer<ConfigMap> }> {
  const mgr = new Manager({
    client,
    name: `faults-${set}`,
    log: silentLogger,
    informerDefaults: { backoff: { baseMs: 200, capMs: 2000 } },
  });
  mirrorController(mgr, set);
  await mgr.start();
  after(() => mgr.stop());
  const sources = mgr.informers.informer<ConfigMap>(ConfigMaps, {
    labelSelector: `${SOURCE_LABEL}=${set}`,
  });
  return { mgr, sources };
}

const src = (set: string, name: string, data: Record<string, string>): ConfigMap => ({
  metadata: { name, namespace: ns, labels: { [SOURCE_LABEL]: set } },
  data,
});

async function mirrored(name: string, data: Record<string, string> | undefined): Promise<boolean> {
  const m = await api.find(mirrorName(name), ns);
  if (data === undefined) return m === undefined;
  return m !== undefined && JSON.stringify(m.data) === JSON.stringify(data);
}

test('kube-apiserver stopped and restarted during a watch: the controller converges', async () => {
  const set = uniqueName('restart');
  const { sources } = await startSample(set);
  await api.create(src(set, 'keep', { v: '1' }));
  await api.create(src(set, 'gone', { v: '1' }));
  await eventually(
    'first mirrors',
    async () => (await mirrored('keep', { v: '1' })) && mirrored('gone', { v: '1' }),
  );
  const errorsBefore = sources.stats.errors;

  await cluster.stopComponent('kube-apiserver');
  await cluster.restartComponent('kube-apiserver');
  // Changes right after the restart, likely before the informer is back: none may be missed.
  await api.patch('keep', { data: { v: '2' } }, { namespace: ns });
  await api.create(src(set, 'new', { v: '1' }));
  await api.delete('gone', { namespace: ns });

  await eventually(
    'mirrors to match the sources',
    async () =>
      (await mirrored('keep', { v: '2' })) &&
      (await mirrored('new', { v: '1' })) &&
      mirrored('gone', undefined),
    90_000,
  );
  assert.ok(sources.stats.errors > errorsBefore, 'the informer noticed the outage');
  assert.ok(sources.hasSynced);
});

/** etcd's JSON gateway: the current revision, and compaction up to it. */
async function etcd(path: string, body: unknown): Promise<{ header?: { revision?: string } }> {
  const res = await fetch(`http://127.0.0.1:${cluster.state.ports.etcd}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { header?: { revision?: string } };
}

test('a compacted resourceVersion (410 Gone) makes the informer relist, missing nothing', async () => {
  // Without the watch cache, watches go to etcd, where compaction makes old revisions Gone.
  cluster.state.args['kube-apiserver'].push('--watch-cache=false');
  await cluster.restartComponent('kube-apiserver');
  const set = uniqueName('gone');
  const { sources } = await startSample(set);
  await api.create(src(set, 'a', { v: '1' }));
  await eventually('mirror of a', () => mirrored('a', { v: '1' }));
  const rv = sources.resourceVersion;
  // Writes the informer does not select move etcd's revision past the informer's.
  for (let i = 0; i < 3; i++) {
    await api.create({
      metadata: { name: uniqueName('other'), namespace: ns },
      data: { i: String(i) },
    });
  }
  await cluster.stopComponent('kube-apiserver');
  const rev = (await etcd('/v3/kv/range', { key: Buffer.from('/').toString('base64') })).header!
    .revision!;
  await etcd('/v3/kv/compaction', { revision: rev, physical: true });
  await cluster.restartComponent('kube-apiserver');
  await api.patch('a', { data: { v: '2' } }, { namespace: ns });
  await api.create(src(set, 'b', { v: '1' }));

  await eventually(
    'mirrors after the relist',
    async () => (await mirrored('a', { v: '2' })) && mirrored('b', { v: '1' }),
    90_000,
  );
  assert.ok(sources.stats.relistsAfterGone >= 1, `resumed from ${rv} without a relist`);
});

/** A TCP proxy whose open connections can be frozen: bytes stop flowing, nothing is closed. */
async function freezingProxy(
  target: number,
): Promise<{ port: number; freeze(): void; close(): void }> {
  const pairs: [Socket, Socket][] = [];
  const server = createServer((inbound) => {
    const outbound = createConnection(target, '127.0.0.1');
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', end);
    outbound.on('error', end);
    pairs.push([inbound, outbound]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    freeze() {
      for (const [a, b] of pairs.splice(0)) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      server.close();
    },
  };
}

test('a stalled watch (connection silently dead) is detected and replaced', async () => {
  const proxy = await freezingProxy(cluster.state.ports.apiserver!);
  after(() => proxy.close());
  const access: ClusterAccess = { ...client.access, server: `https://127.0.0.1:${proxy.port}` };
  const viaProxy = new KubeClient(access);
  after(() => viaProxy.close());
  const set = uniqueName('stall');
  const mgr = new Manager({
    client: viaProxy,
    name: 'stall',
    log: silentLogger,
    // Watches that should end after 1 s, and are presumed dead 1 s after that.
    informerDefaults: {
      watchTimeoutSeconds: [1, 1],
      stallGraceMs: 1000,
      backoff: { baseMs: 100, capMs: 1000 },
    },
  });
  const inf = mgr.informers.informer<ConfigMap>(ConfigMaps, {
    labelSelector: `${SOURCE_LABEL}=${set}`,
  });
  await mgr.start();
  after(() => mgr.stop());
  proxy.freeze();
  await api.create(src(set, 'late', { v: '1' }));
  await eventually(
    'the object through a new watch',
    async () => inf.getByName('late', ns) !== undefined,
    30_000,
  );
  assert.ok(inf.stats.stalls >= 1);
});
