import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

describe('optimizeForSize', () => {
  /** The heap V8 keeps after 300,000 objects were made, dropped and collected. */
  function heapAfterBurst(call: boolean, nodeArgs: string[] = []): { heap: number; set: string } {
    const manager = new URL('./manager.js', import.meta.url).href;
    const script =
      `const { optimizeForSize } = await import(${JSON.stringify(manager)});` +
      `const set = ${call ? 'optimizeForSize()' : '"not called"'};` +
      'let keep = []; for (let i = 0; i < 300000; i++) keep.push({ a: i, b: "x" + i, c: [i] });' +
      'keep = null; globalThis.gc();' +
      'console.log(JSON.stringify({ heap: process.memoryUsage().heapTotal, set: String(set) }));';
    const r = spawnSync(
      process.execPath,
      ['--expose-gc', ...nodeArgs, '--input-type=module', '-e', script],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { heap: number; set: string };
  }

  it('makes a full collection hand the freed heap back', () => {
    const off = heapAfterBurst(false);
    const on = heapAfterBurst(true);
    assert.equal(on.set, 'true');
    // Without the mode V8 keeps most of the burst's heap (about 69 of 99 MB here), with it
    // about 9 MB.
    assert.ok(on.heap < off.heap / 2, `heap after the burst: ${on.heap} with, ${off.heap} without`);
  });

  it('leaves the mode to the node command line when given there', () => {
    assert.equal(heapAfterBurst(true, ['--optimize-for-size']).set, 'false');
  });
});
