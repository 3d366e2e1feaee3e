import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { operatorManifestMemoryEnv } from '../../../test/support/kmm.js';

describe('the operator process', () => {
  it('starts with the node settings of its Deployment, without the fetch implementation, http2 or re2js', () => {
    // A fresh process, so that nothing else this test runner loaded counts, with the
    // Deployment's NODE_OPTIONS: node refuses to start on a flag it does not allow there.
    const env = operatorManifestMemoryEnv();
    assert.match(env.NODE_OPTIONS ?? '', /--jitless/, 'the Deployment runs node without JIT');
    const modules = ['./index.js', '../images/index.js', '../preflight/index.js'].map(
      (m) => new URL(m, import.meta.url).href,
    );
    // Every module file the imports resolve to, where node can report them (Node >= 22.15).
    const script =
      'const urls = []; const { registerHooks } = await import("node:module");' +
      'registerHooks?.({ resolve: (s, c, next) => { const r = next(s, c); urls.push(r.url); return r; } });' +
      `for (const m of ${JSON.stringify(modules)}) await import(m);` +
      'console.log(JSON.stringify({ loaded: process.moduleLoadList, wasm: typeof WebAssembly, urls, hooks: !!registerHooks }));';
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    assert.equal(r.status, 0, r.stderr);
    const { loaded, wasm, urls, hooks } = JSON.parse(r.stdout) as {
      loaded: string[];
      wasm: string;
      urls: string[];
      hooks: boolean;
    };
    if (hooks) {
      assert.ok(urls.length > 50, 'the resolve hook saw the imports');
      // re2js loads when the first regexp is compiled (about 2.5 MiB), not with the code.
      assert.deepEqual(
        urls.filter((u) => u.includes('/re2js/')),
        [],
      );
    }
    for (const m of ['internal/deps/undici/undici', 'http2']) {
      assert.ok(!loaded.includes(`NativeModule ${m}`), `${m} was loaded`);
    }
    assert.ok(loaded.includes('NativeModule _http_server'), 'the list names loaded modules');
    // Without JIT V8 has no WebAssembly: a sign that the flag took effect.
    assert.equal(wasm, 'undefined');
  });
});
