import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapLimit } from './concurrency.js';
import { settleEach } from './errors.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('mapLimit', () => {
  it('keeps the order of the items and never runs more than the limit at once', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++inFlight);
      for (let i = 0; i < n; i++) await tick();
      inFlight--;
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30]);
    assert.equal(most, 2);
  });

  it('returns an empty array for no items, and rejects with the first error', async () => {
    assert.deepEqual(await mapLimit([], 4, async () => 1), []);
    await assert.rejects(
      mapLimit([1, 2], 1, async (n) => {
        if (n === 1) throw new Error('one');
        return n;
      }),
      /one/,
    );
  });
});

describe('settleEach', () => {
  it('tries every item and returns the errors thrown', async () => {
    const seen: number[] = [];
    const errors = await settleEach([1, 2, 3, 4], 2, async (n) => {
      seen.push(n);
      if (n % 2 === 0) throw new Error(`even ${n}`);
    });
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4]);
    assert.deepEqual(errors.map((e) => (e as Error).message).sort(), ['even 2', 'even 4']);
  });

  it('returns no errors when every call succeeds', async () => {
    assert.deepEqual(await settleEach(['a', 'b'], 8, async () => undefined), []);
  });
});
