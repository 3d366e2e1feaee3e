import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { WorkerConfig } from './config.js';
import { WorkerError, type WorkerErrorKind } from './errors.js';
import type { ModprobeResult } from './modprobe.js';
import { FIRMWARE_CLASS_PATH, loadKmod, unloadKmod, type WorkerEnv } from './worker.js';

let dir: string;
let calls: string[][];
let softdeps: string[];
let answers: ModprobeResult[];
let logs: string[];

function env(over: Partial<WorkerEnv> = {}): WorkerEnv {
  return {
    root: join(dir, 'host'),
    imageDir: join(dir, 'image'),
    firmwareHostPath: '/var/lib/firmware',
    setFirmwareClassPath: false,
    modprobeConfigDirs: [],
    // Records each call; reads the softdep file while it exists (it is removed afterwards).
    modprobe: async (args) => {
      calls.push([...args]);
      for (let i = 0; i < args.length - 1; i++) {
        if (args[i] === '-C' && args[i + 1]!.endsWith('softdep.conf')) {
          softdeps.push(await readFile(args[i + 1]!, 'utf8'));
        }
      }
      return answers.shift() ?? { code: 0, stdout: '', stderr: '' };
    },
    log: (m) => logs.push(m),
    ...over,
  };
}

function isWorkerError(kind: WorkerErrorKind, message: RegExp) {
  return (e: unknown) => e instanceof WorkerError && e.kind === kind && message.test(e.message);
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

const dirName = '/dir';
const moduleName = 'test';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kmm-worker-'));
  calls = [];
  softdeps = [];
  answers = [];
  logs = [];
  await mkdir(join(dir, 'host', 'proc'), { recursive: true });
  await writeFile(
    join(dir, 'host', 'proc', 'modules'),
    'intree1 16384 0 - Live 0x0\nintree_2 16384 0 - Live 0x0\nunrelated 1 0 - Live 0x0\n',
  );
  await mkdir(join(dir, 'host', 'sys', 'module', 'firmware_class', 'parameters'), {
    recursive: true,
  });
  await writeFile(join(dir, 'host', FIRMWARE_CLASS_PATH), '\n');
  await mkdir(join(dir, 'image', 'firmwareDir', 'binDir'), { recursive: true });
  await writeFile(join(dir, 'image', 'firmwareDir', 'firmwareFile1'), 'some data 1');
  await writeFile(join(dir, 'image', 'firmwareDir', 'binDir', 'firmwareFile2'), 'some data 2');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadKmod', () => {
  const image = () => join(dir, 'image');

  it('returns an error naming the module if modprobe failed', async () => {
    answers.push({ code: 1, stdout: '', stderr: 'modprobe: FATAL: random error\n' });
    await assert.rejects(
      loadKmod({ modprobe: { moduleName, dirName } }, env()),
      (e: unknown) =>
        isWorkerError('ModprobeFailed', /^could not load module test: random error$/)(e) &&
        (e as WorkerError).module === 'test' &&
        (e as WorkerError).reason === 'random error',
    );
    assert.deepEqual(calls, [['-v', '-d', join(image(), dirName), moduleName]]);
  });

  it('explains "Required key not available" (seed §4.9)', async () => {
    answers.push({
      code: 1,
      stdout: '',
      stderr: "modprobe: ERROR: could not insert 'test': Required key not available\n",
    });
    await assert.rejects(
      loadKmod({ modprobe: { moduleName, dirName } }, env()),
      isWorkerError(
        'ModprobeFailed',
        /^could not load module test: Required key not available; the node enforces module signatures .*MOK/,
      ),
    );
  });

  it('removes the in-tree modules that are loaded, then loads', async () => {
    const cfg: WorkerConfig = {
      inTreeModulesToRemove: ['intree1', 'intree-2', 'notloaded'],
      modprobe: { moduleName, dirName },
    };
    await loadKmod(cfg, env());
    assert.deepEqual(calls, [
      ['-r', '-v', 'intree1', 'intree-2'],
      ['-v', '-d', join(image(), dirName), moduleName],
    ]);
  });

  it('uses the deprecated inTreeModuleToRemove', async () => {
    await loadKmod({ inTreeModuleToRemove: 'intree1', modprobe: { moduleName, dirName } }, env());
    assert.deepEqual(calls[0], ['-r', '-v', 'intree1']);
  });

  it('does not call modprobe -r when no in-tree module is loaded', async () => {
    await loadKmod(
      { inTreeModulesToRemove: ['nouveau'], modprobe: { moduleName, dirName } },
      env(),
    );
    assert.equal(calls.length, 1);
  });

  it('stops when an in-tree module cannot be removed', async () => {
    answers.push({
      code: 1,
      stdout: '',
      stderr: "modprobe: ERROR: could not remove 'intree1': Device or resource busy\n",
    });
    await assert.rejects(
      loadKmod({ inTreeModulesToRemove: ['intree1'], modprobe: { moduleName, dirName } }, env()),
      isWorkerError(
        'InTreeRemovalFailed',
        /could not remove in-tree module intree1: Device or resource busy/,
      ),
    );
    assert.equal(calls.length, 1);
  });

  it('copies all the firmware files and directories if configured', async () => {
    await loadKmod({ modprobe: { moduleName, dirName, firmwarePath: '/firmwareDir' } }, env());
    const fw = join(dir, 'host', 'var', 'lib', 'firmware');
    assert.equal(await readFile(join(fw, 'firmwareFile1'), 'utf8'), 'some data 1');
    assert.equal(await readFile(join(fw, 'binDir', 'firmwareFile2'), 'utf8'), 'some data 2');
  });

  it('removes the firmware it copied when modprobe fails', async () => {
    answers.push({
      code: 1,
      stdout: '',
      stderr: "modprobe: ERROR: could not insert 'test': Exec format error\n",
    });
    await assert.rejects(
      loadKmod({ modprobe: { moduleName, dirName, firmwarePath: '/firmwareDir' } }, env()),
    );
    assert.equal(await exists(join(dir, 'host', 'var', 'lib', 'firmware', 'firmwareFile1')), false);
    assert.equal(await exists(join(dir, 'host', 'var', 'lib', 'firmware', 'binDir')), false);
  });

  it('uses rawArgs if they are defined', async () => {
    await loadKmod({ modprobe: { rawArgs: { load: ['a', 'b', 'c'] } } }, env());
    assert.deepEqual(calls, [['a', 'b', 'c']]);
  });

  it('uses all modprobe settings', async () => {
    await loadKmod(
      {
        modprobe: {
          moduleName,
          parameters: ['key0=value0', 'key1=value1'],
          dirName,
          args: { load: ['a', 'b', 'c'] },
        },
      },
      env(),
    );
    assert.deepEqual(calls, [
      ['-v', '-d', join(image(), dirName), 'a', 'b', 'c', moduleName, 'key0=value0', 'key1=value1'],
    ]);
  });

  it('turns modulesLoadingOrder into softdeps given with -C', async () => {
    await loadKmod(
      { modprobe: { moduleName: 'mod_a', modulesLoadingOrder: ['mod_a', 'mod_b', 'mod_c'] } },
      env({ modprobeConfigDirs: ['/etc/modprobe.d'] }),
    );
    assert.equal(calls.length, 1);
    const args = calls[0]!;
    assert.deepEqual(args.slice(0, 4), ['-v', '-C', '/etc/modprobe.d', '-C']);
    assert.match(args[4]!, /softdep\.conf$/);
    assert.deepEqual(args.slice(5), ['-d', join(image(), 'opt'), 'mod_a']);
    assert.deepEqual(softdeps, ['softdep mod_a pre: mod_b\nsoftdep mod_b pre: mod_c\n']);
    assert.equal(await exists(args[4]!), false, 'the softdep file is removed afterwards');
  });

  it('checks the paths into the image before changing anything on the host', async () => {
    await assert.rejects(
      loadKmod(
        {
          inTreeModulesToRemove: ['intree1'],
          modprobe: { moduleName, dirName: '/../../etc', firmwarePath: '/firmwareDir' },
        },
        env({ setFirmwareClassPath: true }),
      ),
      isWorkerError('InvalidConfig', /modprobe\.dirName: "\/\.\.\/\.\.\/etc" leaves the image/),
    );
    assert.deepEqual(calls, []);
    assert.equal(await exists(join(dir, 'host', 'var', 'lib', 'firmware')), false);
    assert.equal(await readFile(join(dir, 'host', FIRMWARE_CLASS_PATH), 'utf8'), '\n');
  });

  it('rejects an invalid config before touching anything', async () => {
    await assert.rejects(
      loadKmod({ inTreeModulesToRemove: ['intree1'], modprobe: { dirName } }, env()),
      isWorkerError('InvalidConfig', /moduleName: required/),
    );
    assert.deepEqual(calls, []);
  });
});

describe('firmware_class.path', () => {
  const file = () => join(dir, 'host', FIRMWARE_CLASS_PATH);

  it('is written when asked', async () => {
    await loadKmod({ modprobe: { moduleName } }, env({ setFirmwareClassPath: true }));
    assert.equal(await readFile(file(), 'utf8'), '/var/lib/firmware');
  });

  it('is left alone when it already has the value', async () => {
    await writeFile(file(), '/var/lib/firmware\n');
    await loadKmod({ modprobe: { moduleName } }, env({ setFirmwareClassPath: true }));
    assert.equal(await readFile(file(), 'utf8'), '/var/lib/firmware\n');
  });

  it('is not touched unless asked', async () => {
    await loadKmod({ modprobe: { moduleName } }, env());
    assert.equal(await readFile(file(), 'utf8'), '\n');
  });

  it('an error if the sysfs file does not exist', async () => {
    await rm(file());
    await assert.rejects(
      loadKmod({ modprobe: { moduleName } }, env({ setFirmwareClassPath: true })),
      isWorkerError('FirmwareClassPathFailed', /could not read .*firmware_class\/parameters\/path/),
    );
    assert.deepEqual(calls, []);
  });
});

describe('unloadKmod', () => {
  const image = () => join(dir, 'image');

  it('returns an error if modprobe failed, and keeps the firmware', async () => {
    const cfg: WorkerConfig = { modprobe: { moduleName, dirName, firmwarePath: '/firmwareDir' } };
    await loadKmod(cfg, env());
    answers.push({
      code: 1,
      stdout: '',
      stderr: "modprobe: ERROR: could not remove 'test': Device or resource busy\n",
    });
    await assert.rejects(
      unloadKmod(cfg, env()),
      isWorkerError('ModprobeFailed', /^could not unload module test: Device or resource busy$/),
    );
    assert.ok(await exists(join(dir, 'host', 'var', 'lib', 'firmware', 'firmwareFile1')));
  });

  it('uses rawArgs if they are defined', async () => {
    await unloadKmod({ modprobe: { rawArgs: { load: ['x'], unload: ['a', 'b', 'c'] } } }, env());
    assert.deepEqual(calls, [['a', 'b', 'c']]);
  });

  it('uses all modprobe settings', async () => {
    await unloadKmod(
      { modprobe: { moduleName, dirName, args: { unload: ['a', 'b', 'c'] } } },
      env(),
    );
    assert.deepEqual(calls, [
      ['-r', '-v', '-d', join(image(), dirName), 'a', 'b', 'c', moduleName],
    ]);
  });

  it('removes the firmware files the load copied, and only those', async () => {
    const fw = join(dir, 'host', 'var', 'lib', 'firmware');
    await mkdir(fw, { recursive: true });
    await writeFile(join(fw, 'someone-elses.bin'), 'keep');
    const cfg: WorkerConfig = { modprobe: { moduleName, dirName, firmwarePath: '/firmwareDir' } };
    await loadKmod(cfg, env());
    await unloadKmod(cfg, env());
    assert.deepEqual(calls[1], ['-r', '-v', '-d', join(image(), dirName), moduleName]);
    assert.equal(await exists(join(fw, 'firmwareFile1')), false);
    assert.equal(await exists(join(fw, 'binDir')), false);
    assert.equal(await readFile(join(fw, 'someone-elses.bin'), 'utf8'), 'keep');
  });
});
