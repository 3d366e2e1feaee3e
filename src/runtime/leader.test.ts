import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeError, type KubeClient, type RequestInit } from './client.js';
import type { Clock } from './clock.js';
import { LeaderElector, microTime, type Lease } from './leader.js';
import { silentLogger } from './log.js';

/** An apiserver holding one Lease, with resourceVersion checks on update. */
function fakeServer() {
  let lease: Lease | undefined;
  let rv = 0;
  const client = {
    async request(path: string, init: RequestInit = {}) {
      const method = init.method ?? 'GET';
      if (method === 'GET') {
        if (!lease) throw new KubeError('NotFound', 404, `${path} not found`);
        return structuredClone(lease);
      }
      const body = structuredClone(init.body) as Lease;
      if (method === 'POST') {
        if (lease) throw new KubeError('AlreadyExists', 409, 'exists');
        lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } };
        return structuredClone(lease);
      }
      if (method === 'PUT') {
        if (body.metadata.resourceVersion !== lease?.metadata.resourceVersion) {
          throw new KubeError('Conflict', 409, 'the object has been modified');
        }
        lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } };
        return structuredClone(lease);
      }
      throw new Error(`unexpected ${method}`);
    },
  };
  return {
    client: client as unknown as KubeClient,
    lease: () => lease,
    set: (l: Lease) =>
      (lease = { ...l, metadata: { ...l.metadata, resourceVersion: String(++rv) } }),
  };
}

function clock(): Clock & { advance(ms: number): void } {
  let now = Date.parse('2026-01-01T00:00:00Z');
  return {
    now: () => now,
    setTimeout: () => 0,
    clearTimeout: () => undefined,
    advance: (ms) => (now += ms),
  };
}

const opts = { namespace: 'ns', name: 'lease' };

test('microTime has six fractional digits', () => {
  assert.equal(microTime(Date.parse('2026-01-02T03:04:05.678Z')), '2026-01-02T03:04:05.678000Z');
});

test('the first candidate takes the lease; another waits out the lease duration by its own clock', async () => {
  const s = fakeServer();
  const c = clock();
  const a = new LeaderElector(s.client, { ...opts, identity: 'a' }, silentLogger, c);
  const b = new LeaderElector(s.client, { ...opts, identity: 'b' }, silentLogger, c);
  assert.equal(await a.tryAcquireOrRenew(), true);
  assert.equal(s.lease()?.spec?.holderIdentity, 'a');
  assert.equal(s.lease()?.spec?.leaseDurationSeconds, 15);
  assert.equal(s.lease()?.spec?.leaseTransitions, 0);
  assert.equal(await b.tryAcquireOrRenew(), false);
  c.advance(14_000);
  assert.equal(await b.tryAcquireOrRenew(), false, 'not expired yet');
  c.advance(1_500);
  assert.equal(await b.tryAcquireOrRenew(), true, 'a stopped renewing 15 s ago');
  assert.equal(s.lease()?.spec?.holderIdentity, 'b');
  assert.equal(s.lease()?.spec?.leaseTransitions, 1);
  assert.equal(await a.tryAcquireOrRenew(), false, 'a has lost it');
});

test('renewals keep the lease; acquireTime and transitions stay', async () => {
  const s = fakeServer();
  const c = clock();
  const a = new LeaderElector(s.client, { ...opts, identity: 'a' }, silentLogger, c);
  const b = new LeaderElector(s.client, { ...opts, identity: 'b' }, silentLogger, c);
  await a.tryAcquireOrRenew();
  const acquired = s.lease()!.spec!.acquireTime;
  await b.tryAcquireOrRenew();
  for (let i = 0; i < 10; i++) {
    c.advance(2_000);
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(await b.tryAcquireOrRenew(), false);
  }
  assert.equal(s.lease()!.spec!.acquireTime, acquired);
  assert.equal(s.lease()!.spec!.leaseTransitions, 0);
  assert.notEqual(s.lease()!.spec!.renewTime, acquired);
});

test('a holder whose clock runs ahead cannot keep a lease it no longer renews', async () => {
  const s = fakeServer();
  const c = clock();
  s.set({
    metadata: { name: 'lease', namespace: 'ns' },
    spec: {
      holderIdentity: 'skewed',
      leaseDurationSeconds: 15,
      renewTime: '2100-01-01T00:00:00.000000Z',
    },
  });
  const b = new LeaderElector(s.client, { ...opts, identity: 'b' }, silentLogger, c);
  assert.equal(await b.tryAcquireOrRenew(), false);
  c.advance(15_001);
  assert.equal(await b.tryAcquireOrRenew(), true);
});

test('release clears the holder so a successor need not wait', async () => {
  const s = fakeServer();
  const c = clock();
  const a = new LeaderElector(s.client, { ...opts, identity: 'a' }, silentLogger, c);
  const b = new LeaderElector(s.client, { ...opts, identity: 'b' }, silentLogger, c);
  await a.tryAcquireOrRenew();
  assert.equal(await b.tryAcquireOrRenew(), false);
  assert.equal(await b.release(), false, 'only the holder releases');
  assert.equal(await a.release(), true);
  assert.equal(s.lease()?.spec?.holderIdentity, '');
  assert.equal(s.lease()?.spec?.leaseDurationSeconds, 1);
  assert.equal(await b.tryAcquireOrRenew(), true);
  assert.equal(s.lease()?.spec?.leaseTransitions, 1);
});

test('a write that lost a race is a failed attempt, not an error', async () => {
  const s = fakeServer();
  const c = clock();
  const a = new LeaderElector(s.client, { ...opts, identity: 'a' }, silentLogger, c);
  await a.tryAcquireOrRenew();
  const orig = s.client.request.bind(s.client);
  (s.client as unknown as { request: typeof orig }).request = async (p, init) => {
    if (init?.method === 'PUT') throw new KubeError('Conflict', 409, 'modified');
    return orig(p, init);
  };
  c.advance(2_000);
  assert.equal(await a.tryAcquireOrRenew(), false);
});
