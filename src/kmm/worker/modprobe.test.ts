import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { failureHint, modprobeFailure, spawnModprobe } from './modprobe.js';

describe('modprobeFailure', () => {
  const cases: Array<[string, string, { module?: string; reason: string }]> = [
    [
      'unsigned module on a Secure Boot node (seed §4.9)',
      "modprobe: ERROR: could not insert 'my_kmod': Required key not available\n",
      { module: 'my_kmod', reason: 'Required key not available' },
    ],
    [
      'missing module',
      'modprobe: FATAL: Module nosuch not found in directory /tmp/opt/lib/modules/6.1.0\n',
      { reason: 'Module nosuch not found in directory /tmp/opt/lib/modules/6.1.0' },
    ],
    [
      'the last error counts',
      "insmod /tmp/opt/dep.ko\nmodprobe: ERROR: could not insert 'dep': Unknown symbol in module, or unknown parameter (see dmesg)\nmodprobe: ERROR: could not insert 'main': Unknown symbol in module, or unknown parameter (see dmesg)\n",
      { module: 'main', reason: 'Unknown symbol in module, or unknown parameter (see dmesg)' },
    ],
    [
      'removal of a busy module',
      "modprobe: ERROR: could not remove 'ice': Device or resource busy\n",
      { module: 'ice', reason: 'Device or resource busy' },
    ],
    [
      'a program path prefix',
      '/usr/sbin/modprobe: FATAL: Module x is in use.\n',
      { reason: 'Module x is in use.' },
    ],
    ['no modprobe message: the last line', 'something odd\nsegfault\n', { reason: 'segfault' }],
  ];
  for (const [name, stderr, want] of cases) {
    it(name, () => assert.deepEqual(modprobeFailure({ code: 1, stdout: '', stderr }), want));
  }
  it('no output at all: the exit status', () => {
    assert.deepEqual(modprobeFailure({ code: 3, stdout: '', stderr: '' }), {
      reason: 'modprobe exited with status 3',
    });
  });
});

describe('failureHint', () => {
  it('explains signature failures with what to do', () => {
    assert.match(failureHint('Required key not available')!, /MOK/);
    assert.match(failureHint('Key was rejected by service')!, /sign it/);
  });
  it('explains a missing module', () => {
    assert.match(
      failureHint('Module x not found in directory /tmp/opt/lib/modules/6.1')!,
      /depmod -b/,
    );
  });
  it('has nothing to add otherwise', () =>
    assert.equal(failureHint('Device or resource busy'), undefined));
});

describe('spawnModprobe', () => {
  it('runs the program, passes its output through and keeps it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'modprobe-test-'));
    try {
      const fake = join(dir, 'modprobe');
      await writeFile(fake, '#!/bin/sh\necho "args: $*"\necho "oops" >&2\nexit 3\n');
      await chmod(fake, 0o755);
      const out = new PassThrough();
      const err = new PassThrough();
      let passed = '';
      out.on('data', (d: Buffer) => (passed += d.toString()));
      const r = await spawnModprobe(fake, { stdout: out, stderr: err })(['-v', 'a b']);
      assert.deepEqual(r, { code: 3, stdout: 'args: -v a b\n', stderr: 'oops\n' });
      assert.equal(passed, 'args: -v a b\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a program that does not exist', async () => {
    const r = await spawnModprobe('/nonexistent/modprobe', {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
    })([]);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /cannot run \/nonexistent\/modprobe: not found/);
  });
});
