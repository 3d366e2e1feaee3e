import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock } from './clock.js';
import { Expectations } from './expectations.js';

/** A clock that moves only when told (no timers are needed here). */
function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  return {
    now: () => now,
    setTimeout: () => undefined,
    clearTimeout: () => undefined,
    advance(ms) {
      now += ms;
    },
  };
}

describe('Expectations', () => {
  type Step =
    | { expect: string; value?: string; rv?: string }
    | { observed: string }
    | { advance: number }
    | { pending: string; rv?: string; want: string | undefined };
  const cases: { name: string; ttlMs?: number; steps: Step[] }[] = [
    {
      name: 'nothing recorded: nothing pending',
      steps: [{ pending: 'a', want: undefined }],
    },
    {
      name: 'a write stays pending until observed',
      steps: [
        { expect: 'a', value: 'pod' },
        { pending: 'a', want: 'pod' },
        { advance: 29_000 },
        { pending: 'a', want: 'pod' },
        { observed: 'a' },
        { pending: 'a', want: undefined },
      ],
    },
    {
      name: 'keys are independent',
      steps: [
        { expect: 'a', value: 'x' },
        { observed: 'b' },
        { pending: 'a', want: 'x' },
        { pending: 'b', want: undefined },
      ],
    },
    {
      name: 'a record lapses after the TTL',
      ttlMs: 30_000,
      steps: [
        { expect: 'a', value: 'x' },
        { advance: 29_999 },
        { pending: 'a', want: 'x' },
        { advance: 1 },
        { pending: 'a', want: undefined },
      ],
    },
    {
      name: 'default TTL is five minutes',
      steps: [
        { expect: 'a', value: 'x' },
        { advance: 299_999 },
        { pending: 'a', want: 'x' },
        { advance: 1 },
        { pending: 'a', want: undefined },
      ],
    },
    {
      name: 'a new record replaces the old one and restarts its TTL',
      ttlMs: 10_000,
      steps: [
        { expect: 'a', value: 'x' },
        { advance: 8_000 },
        { expect: 'a', value: 'y' },
        { advance: 8_000 },
        { pending: 'a', want: 'y' },
      ],
    },
    {
      name: 'pending while the cache shows the version the write was computed from',
      steps: [
        { expect: 'n', value: 'patch', rv: '7' },
        { pending: 'n', rv: '7', want: 'patch' },
        { pending: 'n', rv: '7', want: 'patch' },
      ],
    },
    {
      name: 'a newer version in the cache satisfies it, and it stays satisfied',
      steps: [
        { expect: 'n', value: 'patch', rv: '7' },
        { pending: 'n', rv: '8', want: undefined },
        { pending: 'n', rv: '7', want: undefined },
      ],
    },
    {
      name: 'a version-based record asked without a version counts as moved on',
      steps: [
        { expect: 'n', value: 'patch', rv: '7' },
        { pending: 'n', want: undefined },
      ],
    },
    {
      name: 'a version-based record still lapses after the TTL',
      ttlMs: 1_000,
      steps: [
        { expect: 'n', value: 'patch', rv: '7' },
        { advance: 1_000 },
        { pending: 'n', rv: '7', want: undefined },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const clock = fakeClock();
      const e = new Expectations<string>({ clock, ...(c.ttlMs ? { ttlMs: c.ttlMs } : {}) });
      c.steps.forEach((s, i) => {
        if ('expect' in s) e.expect(s.expect, s.value ?? '', s.rv);
        else if ('observed' in s) e.observed(s.observed);
        else if ('advance' in s) clock.advance(s.advance);
        else assert.equal(e.pending(s.pending, s.rv), s.want, `step ${i}`);
      });
    });
  }

  it('tells how long a pending record has left, so a waiting reconcile can look again then', () => {
    const clock = fakeClock();
    const e = new Expectations({ clock, ttlMs: 30_000 });
    assert.equal(e.lapsesInMs('pod'), undefined);
    e.expect('pod', true);
    assert.equal(e.lapsesInMs('pod'), 30_000);
    clock.advance(29_000);
    assert.equal(e.lapsesInMs('pod'), 1_000);
    clock.advance(1_000);
    assert.equal(e.lapsesInMs('pod'), 0);
    assert.equal(e.pending('pod'), undefined, 'lapsed when the time left reaches zero');
    assert.equal(e.lapsesInMs('pod'), undefined);
    e.expect('pod', true);
    e.observed('pod');
    assert.equal(e.lapsesInMs('pod'), undefined);
  });

  it('sweeps lapsed records as new ones arrive, so memory stays bounded', () => {
    const clock = fakeClock();
    const e = new Expectations({ clock, ttlMs: 1_000 });
    for (let i = 0; i < 100; i++) e.expect(`old-${i}`, true);
    assert.equal(e.size, 100);
    clock.advance(1_000);
    e.expect('new', true);
    assert.equal(e.size, 1, 'the hundred lapsed records are gone');
    assert.equal(e.pending('new'), true);
  });

  it('defaults to `true` values for presence-only expectations', () => {
    const e = new Expectations();
    e.expect('uid-1', true);
    assert.equal(e.pending('uid-1'), true);
    assert.equal(e.pending('uid-2'), undefined);
  });
});
