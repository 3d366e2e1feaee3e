import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WorkerConfig } from './config.js';
import { WorkerError } from './errors.js';
import {
  firmwarePaths,
  imagePath,
  inTreeToRemove,
  loadedModules,
  modprobeConfigPaths,
  modprobeLoadArgs,
  modprobeUnloadArgs,
  softdepConfig,
} from './plan.js';

const IMAGE = '/tmp';

describe('modprobeLoadArgs', () => {
  const cases: Array<[string, WorkerConfig, string[]]> = [
    [
      'module name only',
      { modprobe: { moduleName: 'test', dirName: '/dir' } },
      ['-v', '-d', '/tmp/dir', 'test'],
    ],
    [
      'dirName defaults to /opt',
      { modprobe: { moduleName: 'test' } },
      ['-v', '-d', '/tmp/opt', 'test'],
    ],
    [
      'all modprobe settings',
      {
        modprobe: {
          moduleName: 'test',
          parameters: ['key0=value0', 'key1=value1'],
          dirName: '/dir',
          args: { load: ['a', 'b', 'c'] },
        },
      },
      ['-v', '-d', '/tmp/dir', 'a', 'b', 'c', 'test', 'key0=value0', 'key1=value1'],
    ],
    [
      'rawArgs replace everything',
      {
        modprobe: {
          rawArgs: { load: ['a', 'b', 'c'] },
          moduleName: 'ignored',
          parameters: ['x=1'],
        },
      },
      ['a', 'b', 'c'],
    ],
    [
      'a relative dirName is inside the image too',
      { modprobe: { moduleName: 'test', dirName: 'opt/drivers' } },
      ['-v', '-d', '/tmp/opt/drivers', 'test'],
    ],
  ];
  for (const [name, cfg, want] of cases) {
    it(name, () => assert.deepEqual(modprobeLoadArgs(cfg, { imageDir: IMAGE }), want));
  }

  it('passes configuration paths with -C before -d', () => {
    assert.deepEqual(
      modprobeLoadArgs(
        { modprobe: { moduleName: 'a', modulesLoadingOrder: ['a', 'b'] } },
        { imageDir: IMAGE, configPaths: ['/etc/modprobe.d', '/run/x/softdep.conf'] },
      ),
      ['-v', '-C', '/etc/modprobe.d', '-C', '/run/x/softdep.conf', '-d', '/tmp/opt', 'a'],
    );
  });

  it('refuses a dirName that climbs out of the image', () => {
    assert.throws(
      () =>
        modprobeLoadArgs(
          { modprobe: { moduleName: 'a', dirName: '/../etc' } },
          { imageDir: IMAGE },
        ),
      (e: unknown) =>
        e instanceof WorkerError &&
        e.kind === 'InvalidConfig' &&
        /modprobe\.dirName/.test(e.message),
    );
  });
});

describe('modprobeUnloadArgs', () => {
  const cases: Array<[string, WorkerConfig, string[]]> = [
    [
      'module name only',
      { modprobe: { moduleName: 'test', dirName: '/dir' } },
      ['-r', '-v', '-d', '/tmp/dir', 'test'],
    ],
    [
      'all modprobe settings (parameters are for loading only)',
      {
        modprobe: {
          moduleName: 'test',
          dirName: '/dir',
          parameters: ['p=1'],
          args: { unload: ['a', 'b', 'c'] },
        },
      },
      ['-r', '-v', '-d', '/tmp/dir', 'a', 'b', 'c', 'test'],
    ],
    ['rawArgs', { modprobe: { rawArgs: { unload: ['a', 'b', 'c'] } } }, ['a', 'b', 'c']],
    [
      'the loading order is removed first to last',
      { modprobe: { moduleName: 'a', modulesLoadingOrder: ['a', 'b', 'c'] } },
      ['-r', '-v', '-d', '/tmp/opt', 'a', 'b', 'c'],
    ],
  ];
  for (const [name, cfg, want] of cases) {
    it(name, () => assert.deepEqual(modprobeUnloadArgs(cfg, { imageDir: IMAGE }), want));
  }
});

describe('softdepConfig', () => {
  const cases: Array<[string[], string]> = [
    [[], ''],
    [['a'], ''],
    [['a', 'b'], 'softdep a pre: b\n'],
    [['mod_a', 'mod_b', 'mod_c'], 'softdep mod_a pre: mod_b\nsoftdep mod_b pre: mod_c\n'],
  ];
  for (const [order, want] of cases) {
    it(JSON.stringify(order), () => assert.equal(softdepConfig(order), want));
  }
});

describe('in-tree modules to remove', () => {
  const proc =
    'ice 1138688 0 - Live 0x0000000000000000\n' +
    'irdma 413696 0 - Live 0x0000000000000000\n' +
    'ib_uverbs 196608 1 irdma, Live 0x0000000000000000\n';
  it('reads module names from /proc/modules', () => {
    assert.deepEqual([...loadedModules(proc)].sort(), ['ib_uverbs', 'ice', 'irdma']);
  });
  const cases: Array<[string[], string[]]> = [
    [['ice'], ['ice']],
    [['ice', 'i40e'], ['ice']],
    [['ib-uverbs'], ['ib-uverbs']],
    [['nouveau'], []],
    [[], []],
  ];
  for (const [wanted, want] of cases) {
    it(`${JSON.stringify(wanted)} → ${JSON.stringify(want)}`, () =>
      assert.deepEqual(inTreeToRemove(wanted, loadedModules(proc)), want));
  }
});

describe('modprobeConfigPaths', () => {
  it('nothing to add: no -C at all (modprobe reads its defaults)', () => {
    assert.deepEqual(modprobeConfigPaths(['/etc/modprobe.d'], {}), []);
  });
  it('defaults first, then the image directory, then the softdep file', () => {
    assert.deepEqual(
      modprobeConfigPaths(['/etc/modprobe.d', '/lib/modprobe.d'], {
        modprobedDir: '/tmp/etc/modprobe.d',
        softdepFile: '/run/s.conf',
      }),
      ['/etc/modprobe.d', '/lib/modprobe.d', '/tmp/etc/modprobe.d', '/run/s.conf'],
    );
  });
});

describe('paths', () => {
  it('firmware goes from the image to the host directory below the root', () => {
    assert.deepEqual(
      firmwarePaths(
        { modprobe: { moduleName: 'a', firmwarePath: '/firmware' } },
        { imageDir: '/tmp', root: '/host', firmwareHostPath: '/var/lib/firmware' },
      ),
      { source: '/tmp/firmware', target: '/host/var/lib/firmware' },
    );
    assert.equal(
      firmwarePaths(
        { modprobe: { moduleName: 'a' } },
        { imageDir: '/tmp', root: '/', firmwareHostPath: '/x' },
      ),
      undefined,
    );
  });
  const cases: Array<[string, string | undefined]> = [
    ['/opt', '/img/opt'],
    ['opt', '/img/opt'],
    ['/a/../b', '/img/b'],
    ['/', '/img'],
    ['/../x', undefined],
    ['../../etc', undefined],
  ];
  for (const [path, want] of cases) {
    it(`imagePath ${path}`, () => {
      if (want) assert.equal(imagePath('/img', path, 'f'), want);
      else assert.throws(() => imagePath('/img', path, 'f'), /leaves the image's directory/);
    });
  }
});
