import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ephemeralPortRange,
  freePort,
  isAlive,
  LISTEN_PORT_FLOOR,
  statSaysRunning,
} from './processes.js';

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

test('statSaysRunning: a zombie is gone only when no other thread of it still runs', () => {
  // Lines as /proc/PID/stat prints them (trimmed after the thread count), the command with
  // a space and a parenthesis in it as a program may name itself.
  const line = (state: string, threads: number) =>
    `4242 (etcd (x) y) ${state} 1 4242 4242 0 -1 4228364 43412 0 6 0 524 222 0 0 20 0 ${threads} 0 935385`;
  assert.equal(statSaysRunning(line('S', 12)), true);
  assert.equal(statSaysRunning(line('R', 1)), true);
  assert.equal(statSaysRunning(line('D', 3)), true);
  assert.equal(statSaysRunning(line('Z', 2)), true, 'main thread exited, another still exiting');
  assert.equal(statSaysRunning(line('Z', 1)), false);
  assert.equal(statSaysRunning(line('X', 1)), false);
});

test('isAlive holds a process whose main thread exited while another thread runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hwe-threads-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The main thread leaves first; the process, its files and its ports stay until the other
  // thread is done: what a killed etcd looks like while the kernel tears it down.
  writeFileSync(
    join(dir, 'p.c'),
    [
      '#include <pthread.h>',
      '#include <unistd.h>',
      'static void *later(void *a) { (void)a; usleep(1500000); return 0; }',
      'int main(void) { pthread_t t; pthread_create(&t, 0, later, 0); pthread_exit(0); }',
    ].join('\n'),
  );
  const cc = spawnSync('gcc', ['-pthread', '-o', join(dir, 'p'), join(dir, 'p.c')], {
    encoding: 'utf8',
  });
  assert.equal(cc.status, 0, `gcc (scripts/apt-packages.txt installs it): ${cc.stderr}`);
  const child = spawn(join(dir, 'p'), { stdio: 'ignore' });
  const pid = child.pid!;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const deadline = Date.now() + 1000;
  let stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  while (!/\) Z /.test(stat) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  }
  assert.match(stat, /\) Z /, 'the main thread has exited');
  assert.equal(isAlive(pid), true, `a thread still runs: ${stat}`);
  await exited;
  assert.equal(isAlive(pid), false);
});
