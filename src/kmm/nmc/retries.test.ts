import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkerRetries } from './retries.js';

describe('WorkerRetries', () => {
  it('doubles the wait per failure in a row, up to the cap', () => {
    const r = new WorkerRetries(10_000, 300_000);
    const waits: (number | undefined)[] = [];
    for (let i = 0; i < 7; i++) {
      r.failed('n1', 'ns/m', 0);
      waits.push(r.waiting('n1', 0).nextMs);
    }
    assert.deepEqual(waits, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });

  it('blocks the module until its wait ends, then lets it try', () => {
    const r = new WorkerRetries(10_000, 300_000);
    r.failed('n1', 'ns/m', 1_000);
    assert.deepEqual(r.waiting('n1', 1_000), { keys: new Set(['ns/m']), nextMs: 10_000 });
    assert.deepEqual(r.waiting('n1', 10_999), { keys: new Set(['ns/m']), nextMs: 1 });
    assert.deepEqual(r.waiting('n1', 11_000), { keys: new Set(), nextMs: undefined });
  });

  it('keeps nodes and modules apart; the soonest wait is reported', () => {
    const r = new WorkerRetries(10_000, 300_000);
    r.failed('n1', 'ns/a', 0);
    r.failed('n1', 'ns/a', 0);
    r.failed('n1', 'ns/b', 0);
    assert.deepEqual(r.waiting('n1', 0), { keys: new Set(['ns/a', 'ns/b']), nextMs: 10_000 });
    assert.deepEqual(r.waiting('n2', 0), { keys: new Set(), nextMs: undefined });
    r.failed('n2', 'ns/a', 0);
    assert.equal(r.waiting('n2', 0).nextMs, 10_000, 'a first failure on another node');
  });

  it('a success forgets the failures: the next failure starts from the base again', () => {
    const r = new WorkerRetries(10_000, 300_000);
    r.failed('n1', 'ns/m', 0);
    r.failed('n1', 'ns/m', 0);
    r.succeeded('n1', 'ns/m');
    assert.deepEqual(r.waiting('n1', 0), { keys: new Set(), nextMs: undefined });
    r.failed('n1', 'ns/m', 0);
    assert.equal(r.waiting('n1', 0).nextMs, 10_000);
  });

  it('a node that goes is forgotten', () => {
    const r = new WorkerRetries(10_000, 300_000);
    r.failed('n1', 'ns/m', 0);
    r.failed('n1', 'ns/m', 0);
    r.forgetNode('n1');
    assert.deepEqual(r.waiting('n1', 0), { keys: new Set(), nextMs: undefined });
    r.failed('n1', 'ns/m', 0);
    assert.equal(r.waiting('n1', 0).nextMs, 10_000);
  });
});
