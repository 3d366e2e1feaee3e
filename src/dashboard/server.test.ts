import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListen } from './server.js';

test('--listen takes HOST:PORT, [V6]:PORT or :PORT, and names the fix otherwise', () => {
  assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen(':9443'), { host: '0.0.0.0', port: 9443 });
  for (const bad of ['8080', 'localhost', 'a:b', '1.2.3.4:70000']) {
    assert.throws(
      () => parseListen(bad),
      /--listen .*expected HOST:PORT, e\.g\. 127\.0\.0\.1:8080/,
    );
  }
});
