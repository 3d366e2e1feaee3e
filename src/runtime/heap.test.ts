import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundHeapGrowth, boundYoungGeneration } from './manager.js';

describe('boundHeapGrowth', () => {
  it('sets the growth factor unless it is off or the user chose one', () => {
    const saved = process.env.NODE_OPTIONS;
    try {
      delete process.env.NODE_OPTIONS;
      assert.equal(boundHeapGrowth(0), false);
      assert.equal(boundHeapGrowth(100), true);
      process.env.NODE_OPTIONS = '--heap-growing-percent=50';
      assert.equal(boundHeapGrowth(100), false);
    } finally {
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    }
  });
});

describe('boundYoungGeneration', () => {
  it('freezes the young generation unless the user sized it', () => {
    const saved = process.env.NODE_OPTIONS;
    try {
      delete process.env.NODE_OPTIONS;
      assert.equal(boundYoungGeneration(), true);
      process.env.NODE_OPTIONS = '--max-semi-space-size=8';
      assert.equal(boundYoungGeneration(), false);
    } finally {
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    }
  });
});
