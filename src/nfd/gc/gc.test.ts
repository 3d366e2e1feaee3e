import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { graceLeft } from './gc.js';

describe('graceLeft', () => {
  const created = '2026-01-01T00:00:00Z';
  const t0 = Date.parse(created);
  const obj = (creationTimestamp?: string) => ({ metadata: { name: 'n', creationTimestamp } });
  const cases: [string, string | undefined, number, number][] = [
    ['just created: the whole period', created, t0, 60_000],
    ['half way', created, t0 + 30_000, 30_000],
    ['at the end', created, t0 + 60_000, 0],
    ['long after', created, t0 + 3_600_000, 0],
    ['no timestamp: no protection', undefined, t0, 0],
    ['a timestamp that does not parse', 'yesterday', t0, 0],
  ];
  for (const [name, ts, now, want] of cases) {
    it(name, () => assert.equal(graceLeft(obj(ts), 60_000, now), want));
  }
  it('a zero period never protects', () => assert.equal(graceLeft(obj(created), 0, t0), 0));
});
