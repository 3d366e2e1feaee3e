import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

describe('the operator process', () => {
  it('loads neither the fetch implementation nor http2 with its code', () => {
    // A fresh process, so that nothing else this test runner loaded counts.
    const modules = ['./index.js', '../images/index.js', '../preflight/index.js'].map(
      (m) => new URL(m, import.meta.url).href,
    );
    const script =
      `for (const m of ${JSON.stringify(modules)}) await import(m);` +
      'console.log(JSON.stringify(process.moduleLoadList));';
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const loaded = JSON.parse(r.stdout) as string[];
    for (const m of ['internal/deps/undici/undici', 'http2']) {
      assert.ok(!loaded.includes(`NativeModule ${m}`), `${m} was loaded`);
    }
    assert.ok(loaded.includes('NativeModule _http_server'), 'the list names loaded modules');
  });
});
