import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settleEach, throwAll } from './errors.js';

describe('throwAll', () => {
  it('does nothing without failures', () => {
    assert.doesNotThrow(() => throwAll([]));
  });
  it('throws a single failure as it is, so callers can still branch on its kind', () => {
    const e = new RangeError('only one');
    assert.throws(
      () => throwAll([e]),
      (got) => got === e,
    );
  });
  it('throws several as one AggregateError naming each', () => {
    const a = new Error('patch node-a: Conflict');
    assert.throws(
      () => throwAll([a, 'create pod-b: refused']),
      (got: unknown) =>
        got instanceof AggregateError &&
        got.errors.length === 2 &&
        got.errors[0] === a &&
        got.message === '2 failures: patch node-a: Conflict; create pod-b: refused',
    );
  });
});

describe('settleEach', () => {
  it('runs every item past failures and returns the failures', async () => {
    const done: number[] = [];
    const errors = await settleEach([1, 2, 3, 4, 5], 2, async (n) => {
      await new Promise((r) => setImmediate(r));
      if (n % 2 === 0) throw new Error(`item ${n}`);
      done.push(n);
    });
    assert.deepEqual(done.sort(), [1, 3, 5]);
    assert.deepEqual(errors.map((e) => (e as Error).message).sort(), ['item 2', 'item 4']);
  });
  it('keeps at most n in flight', async () => {
    let running = 0;
    let most = 0;
    await settleEach([...Array(10).keys()], 3, async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setImmediate(r));
      running--;
    });
    assert.equal(most, 3);
  });
  it('handles no items', async () => {
    assert.deepEqual(await settleEach([], 4, () => Promise.reject(new Error('never'))), []);
  });
});
