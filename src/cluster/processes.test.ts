import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { ephemeralPortRange, freePort, LISTEN_PORT_FLOOR } from './processes.js';

test('ephemeralPortRange reads ip_local_port_range, with the kernel default otherwise', () => {
  assert.deepEqual(ephemeralPortRange('32768\t60999\n'), [32768, 60999]);
  assert.deepEqual(ephemeralPortRange('40000 50000'), [40000, 50000]);
  assert.deepEqual(ephemeralPortRange(''), [32768, 60999]);
  assert.deepEqual(ephemeralPortRange('nonsense'), [32768, 60999]);
  assert.deepEqual(ephemeralPortRange('50000 40000'), [32768, 60999]);
});

test('freePort gives a listenable port below the ephemeral range', async () => {
  const [low] = ephemeralPortRange();
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    if (low - LISTEN_PORT_FLOOR > 1000) {
      assert.ok(port >= LISTEN_PORT_FLOOR && port < low, `${port} below ${low}`);
    }
    await new Promise<void>((resolve, reject) => {
      const srv = createServer();
      srv.on('error', reject);
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
    });
  }
});
