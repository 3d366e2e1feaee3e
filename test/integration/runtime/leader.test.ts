import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually, testCluster, testNamespace, uniqueName } from '../../support/cluster.js';
import {
  ConfigMaps,
  KubeClient,
  Leases,
  loadKubeconfig,
  Manager,
  ResourceClient,
  silentLogger,
  type Lease,
} from '../../../src/runtime/index.js';
import { mirrorController, mirrorName, SOURCE_LABEL, type ConfigMap } from './sample.js';

const cluster = await testCluster();
const ns = await testNamespace(cluster.client, 'rt-leader');
const api = new ResourceClient<ConfigMap>(cluster.client, ConfigMaps, 'hwe-test');
const leases = new ResourceClient<Lease>(cluster.client, Leases);
const CHILD = fileURLToPath(new URL('./leader-child.js', import.meta.url));

/** A manager in this process with the sample controller; counts its reconciles. */
async function candidate(lease: string, set: string, identity: string) {
  const client = new KubeClient(loadKubeconfig([cluster.kubeconfig]));
  const mgr = new Manager({
    client,
    name: identity,
    log: silentLogger,
    leaderElection: { namespace: ns, name: lease, identity },
  });
  const seen = { reconciles: 0 };
  mirrorController(mgr, set, { started: () => seen.reconciles++ });
  await mgr.start();
  after(async () => {
    await mgr.stop();
    client.close();
  });
  return { mgr, seen };
}

interface Child {
  proc: ChildProcess;
  events: { event: string; name?: string }[];
  exited: Promise<number | null>;
}

function child(lease: string, set: string, identity: string): Child {
  const proc = spawn(process.execPath, [CHILD, cluster.kubeconfig, ns, lease, set, identity], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const events: Child['events'] = [];
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buf.slice(0, i)) as Child['events'][number]);
      buf = buf.slice(i + 1);
    }
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return { proc, events, exited };
}

const source = (set: string, name: string): ConfigMap => ({
  metadata: { name, namespace: ns, labels: { [SOURCE_LABEL]: set } },
  data: { v: name },
});

test('two managers with leader election: only the leader reconciles', async () => {
  const lease = uniqueName('lease');
  const set = uniqueName('two');
  const a = await candidate(lease, set, 'manager-a');
  const b = await candidate(lease, set, 'manager-b');
  await eventually('a leader', async () => a.mgr.isLeader || b.mgr.isLeader);
  for (let i = 0; i < 5; i++) await api.create(source(set, `s${i}`));
  for (let i = 0; i < 5; i++)
    await eventually(`mirror ${i}`, () => api.find(mirrorName(`s${i}`), ns));
  const [leader, follower] = a.mgr.isLeader ? [a, b] : [b, a];
  assert.equal(follower.mgr.isLeader, false);
  assert.ok(leader.seen.reconciles >= 5);
  assert.equal(follower.seen.reconciles, 0, 'the follower never reconciled');
  const l = await leases.get(lease, ns);
  assert.equal(l.spec?.holderIdentity, leader === a ? 'manager-a' : 'manager-b');
});

test('when the leader process is killed, the other takes over within 20 s', async () => {
  const lease = uniqueName('lease');
  const set = uniqueName('kill');
  const c = child(lease, set, 'child-leader');
  await eventually('the child to lead', async () => c.events.some((e) => e.event === 'leading'));
  const standby = await candidate(lease, set, 'standby');
  await api.create(source(set, 'before'));
  await eventually('the child to reconcile', async () => c.events.some((e) => e.name === 'before'));
  assert.equal(standby.mgr.isLeader, false);
  assert.equal(standby.seen.reconciles, 0);

  c.proc.kill('SIGKILL');
  await c.exited;
  await eventually('the standby to take over', async () => standby.mgr.isLeader, 20_000, 50);
  await api.create(source(set, 'after'));
  await eventually('the new leader to reconcile', () => api.find(mirrorName('after'), ns));
  assert.equal((await leases.get(lease, ns)).spec?.holderIdentity, 'standby');
  assert.ok((await leases.get(lease, ns)).spec!.leaseTransitions! >= 1);
});

test('a leader stopped past its lease reconciles nothing its stale cache says when it resumes', async () => {
  const lease = uniqueName('lease');
  const set = uniqueName('pause');
  const c = child(lease, set, 'child-paused');
  const closed = new Promise<void>((r) => c.proc.on('close', () => r()));
  await eventually('the child to lead', async () => c.events.some((e) => e.event === 'leading'));
  await api.create(source(set, 'paused-before'));
  await eventually('the child to reconcile', async () =>
    c.events.some((e) => e.name === 'paused-before'),
  );
  const standby = await candidate(lease, set, 'standby-pause');

  c.proc.kill('SIGSTOP');
  await eventually('the standby to take over', async () => standby.mgr.isLeader, 60_000);
  // Changes the paused process's watch delivers the moment it resumes.
  for (let i = 0; i < 5; i++) await api.create(source(set, `paused-during-${i}`));
  for (let i = 0; i < 5; i++)
    await eventually(`the new leader to mirror ${i}`, () =>
      api.find(mirrorName(`paused-during-${i}`), ns),
    );
  const before = c.events.length;
  c.proc.kill('SIGCONT');
  await c.exited;
  await closed;
  const after = c.events.slice(before).filter((e) => e.event === 'reconcile');
  assert.deepEqual(after, [], 'the resumed process learnt it had lost the lease before acting');
  assert.equal((await leases.get(lease, ns)).spec?.holderIdentity, 'standby-pause');
});

test('SIGTERM releases the lease at once', async () => {
  const lease = uniqueName('lease');
  const set = uniqueName('term');
  const c = child(lease, set, 'child-term');
  await eventually('the child to lead', async () => c.events.some((e) => e.event === 'leading'));
  c.proc.kill('SIGTERM');
  assert.equal(await c.exited, 0, 'a clean exit');
  assert.ok(c.events.some((e) => e.event === 'stopped'));
  const l = await leases.get(lease, ns);
  assert.equal(l.spec?.holderIdentity ?? '', '', 'the holder is cleared on the way out');
  // A released lease is free: a newcomer takes it at its first try rather than after 15 s.
  const next = await candidate(lease, set, 'next');
  await eventually('the newcomer to lead', async () => next.mgr.isLeader, 3_000, 50);
});
