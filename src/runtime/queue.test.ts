import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from './clock.js';
import { BucketLimiter, ItemExponentialLimiter, MaxOfLimiter, WorkQueue } from './queue.js';

/** A clock that moves only when told; timers fire as time passes them. */
function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 1;
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = next++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout(h) {
      timers = timers.filter((t) => t.id !== h);
    },
    advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
    },
  };
}

test('exponential limiter doubles from 5 ms and caps at 1000 s; forget resets', () => {
  const l = new ItemExponentialLimiter<string>(5, 1_000_000);
  const seq = Array.from({ length: 20 }, () => l.when('a'));
  assert.deepEqual(seq.slice(0, 5), [5, 10, 20, 40, 80]);
  assert.equal(seq.at(-1), 1_000_000);
  assert.equal(l.retries('a'), 20);
  assert.equal(l.when('b'), 5, 'keys back off independently');
  l.forget('a');
  assert.equal(l.when('a'), 5);
  for (let i = 0; i < 2000; i++) l.when('c');
  assert.equal(l.when('c'), 1_000_000, 'no overflow after many failures');
});

test('token bucket lets a burst through, then spaces items at 1/qps', () => {
  const clock = fakeClock();
  const b = new BucketLimiter<string>(10, 100, clock);
  for (let i = 0; i < 100; i++) assert.equal(b.when(`k${i}`), 0);
  assert.equal(Math.round(b.when('x')), 100);
  assert.equal(Math.round(b.when('y')), 200);
  clock.advance(1000);
  // 10 tokens came back, 2 were owed.
  for (let i = 0; i < 8; i++) assert.equal(b.when(`z${i}`), 0);
  assert.ok(b.when('w') > 0);
});

test('max-of limiter takes the longer delay', () => {
  const clock = fakeClock();
  const l = new MaxOfLimiter<string>(
    new ItemExponentialLimiter<string>(5, 1000),
    new BucketLimiter<string>(1, 1, clock),
  );
  assert.equal(l.when('a'), 5);
  assert.equal(l.when('a'), 1000);
});

test('queue deduplicates adds of a waiting key', async () => {
  const q = new WorkQueue<string>();
  for (let i = 0; i < 1000; i++) q.add('a');
  q.add('b');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.length, 0);
});

test('a key being processed is not handed out again until done, then once more', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  const k = await q.get();
  assert.equal(k, 'a');
  q.add('a');
  q.add('a');
  assert.equal(q.length, 0, 'not queued while processing');
  let second: string | undefined;
  void q.get().then((v) => (second = v));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined, 'a second worker gets nothing while the first holds a');
  q.done('a');
  await new Promise((r) => setImmediate(r));
  assert.equal(second, 'a');
  assert.ok(q.isProcessing('a'));
  q.done('a');
  assert.equal(q.length, 0);
});

test('delayed adds fire in time order and the earliest of duplicates wins', async () => {
  const clock = fakeClock();
  const q = new WorkQueue<string>({ clock });
  q.addAfter('late', 500);
  q.addAfter('early', 100);
  q.addAfter('late', 50);
  q.addAfter('late', 900);
  assert.equal(q.length, 0);
  clock.advance(50);
  assert.equal(q.length, 1);
  assert.equal(await q.get(), 'late');
  clock.advance(49);
  assert.equal(q.length, 0);
  clock.advance(1);
  assert.equal(await q.get(), 'early');
});

test('rate-limited adds back off per key and forget clears the history', () => {
  const clock = fakeClock();
  const q = new WorkQueue<string>({
    clock,
    rateLimiter: new ItemExponentialLimiter<string>(5, 1_000_000),
  });
  q.addRateLimited('a');
  q.addRateLimited('a');
  assert.equal(q.numRequeues('a'), 2);
  clock.advance(5);
  assert.equal(q.length, 1, 'earliest pending retry wins');
  q.forget('a');
  assert.equal(q.numRequeues('a'), 0);
});

test('shutdown releases waiting workers and drops delayed adds', async () => {
  const clock = fakeClock();
  const q = new WorkQueue<string>({ clock });
  const waiting = q.get();
  q.addAfter('x', 10);
  q.shutDown();
  assert.equal(await waiting, undefined);
  clock.advance(100);
  q.add('y');
  assert.equal(await q.get(), undefined);
});

test('drained resolves when the last item in flight is done', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  await q.get();
  let drained = false;
  void q.drained().then(() => (drained = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false);
  q.done('a');
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, true);
});

test('observer sees adds, depth, latency and retries', async () => {
  const clock = fakeClock();
  const seen = { adds: 0, depth: -1, latency: [] as number[], retries: 0, work: [] as number[] };
  const q = new WorkQueue<string>({
    clock,
    rateLimiter: new ItemExponentialLimiter<string>(5, 100),
    observer: {
      add: () => seen.adds++,
      depth: (n) => (seen.depth = n),
      queueLatency: (s) => seen.latency.push(s),
      workDuration: (s) => seen.work.push(s),
      retry: () => seen.retries++,
    },
  });
  q.add('a');
  q.add('a');
  assert.equal(seen.adds, 2);
  assert.equal(seen.depth, 1);
  clock.advance(250);
  await q.get();
  assert.deepEqual(seen.latency, [0.25]);
  clock.advance(1000);
  q.done('a');
  assert.deepEqual(seen.work, [1]);
  q.addRateLimited('a');
  assert.equal(seen.retries, 1);
});

test('unfinished and longest-running work for stuck-worker metrics', async () => {
  const clock = fakeClock();
  const q = new WorkQueue<string>({ clock });
  q.add('a');
  q.add('b');
  await q.get();
  clock.advance(1000);
  await q.get();
  clock.advance(500);
  assert.equal(q.unfinishedWorkSeconds(), 2);
  assert.equal(q.longestRunningSeconds(), 1.5);
  q.done('a');
  assert.equal(q.longestRunningSeconds(), 0.5);
});
