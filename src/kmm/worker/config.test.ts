import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkWorkerConfig,
  inTreeModulesOf,
  parseWorkerConfig,
  type WorkerConfig,
} from './config.js';
import { WorkerError } from './errors.js';

function invalid(message: RegExp) {
  return (e: unknown) =>
    e instanceof WorkerError && e.kind === 'InvalidConfig' && message.test(e.message);
}

describe('parseWorkerConfig', () => {
  it("reads upstream's worker test config", () => {
    // internal/worker/testdata/config.yaml of kubernetes-sigs/kernel-module-management
    const cfg = parseWorkerConfig(
      [
        'containerImage: registry.local/org/img:tag',
        'insecurePull: true',
        'inTreeModuleToRemove: some-module',
        'modprobe:',
        '  moduleName: test',
        '  parameters: [key0=value0, key1=value1]',
        '  dirName: /path',
        '  args:',
        '    load: [load, args]',
        '    unload: [unload, args]',
        '  rawArgs:',
        '    load: [load, rawargs]',
        '    unload: [unload, rawargs]',
        '  firmwarePath: /some/path',
        '  modulesLoadingOrder: [mod1, mod2]',
      ].join('\n'),
    );
    assert.deepEqual(cfg, {
      containerImage: 'registry.local/org/img:tag',
      insecurePull: true,
      inTreeModuleToRemove: 'some-module',
      modprobe: {
        moduleName: 'test',
        parameters: ['key0=value0', 'key1=value1'],
        dirName: '/path',
        args: { load: ['load', 'args'], unload: ['unload', 'args'] },
        rawArgs: { load: ['load', 'rawargs'], unload: ['unload', 'rawargs'] },
        firmwarePath: '/some/path',
        modulesLoadingOrder: ['mod1', 'mod2'],
      },
    });
  });

  it('reads JSON too', () => {
    const cfg = parseWorkerConfig('{"kernelVersion":"6.1.0","modprobe":{"moduleName":"a"}}');
    assert.deepEqual(cfg, { kernelVersion: '6.1.0', modprobe: { moduleName: 'a' } });
  });

  const bad: Array<[string, string, RegExp]> = [
    [
      'a misspelt top-level field',
      'modprobe: {moduleName: a}\ncontainerimage: x',
      /^containerimage: unknown field/,
    ],
    [
      'a misspelt modprobe field',
      'modprobe: {modulename: a}',
      /^modprobe\.modulename: unknown field/,
    ],
    [
      'a misspelt args field',
      'modprobe: {moduleName: a, args: {lod: [x]}}',
      /^modprobe\.args\.lod: unknown field/,
    ],
    ['no modprobe section', 'containerImage: x', /^modprobe: required/],
    [
      'parameters not a list',
      'modprobe: {moduleName: a, parameters: p=1}',
      /modprobe\.parameters: must be a list/,
    ],
    [
      'a number as module name',
      'modprobe: {moduleName: 42}',
      /modprobe\.moduleName: must be a string/,
    ],
    ['not YAML', 'modprobe: [unclosed', /not valid YAML/],
    ['not a map', '- a\n- b', /must be a map/],
    [
      'insecurePull not a boolean',
      'insecurePull: maybe\nmodprobe: {moduleName: a}',
      /insecurePull: must be true or false/,
    ],
  ];
  for (const [name, text, message] of bad) {
    it(`rejects ${name}`, () => assert.throws(() => parseWorkerConfig(text), invalid(message)));
  }
});

describe('checkWorkerConfig', () => {
  const cases: Array<[string, WorkerConfig, 'load' | 'unload', RegExp | undefined]> = [
    ['moduleName is enough', { modprobe: { moduleName: 'a' } }, 'load', undefined],
    ['neither moduleName nor rawArgs', { modprobe: {} }, 'load', /moduleName: required/],
    ['rawArgs for the action', { modprobe: { rawArgs: { load: ['x'] } } }, 'load', undefined],
    [
      'rawArgs without the action',
      { modprobe: { rawArgs: { load: ['x'] } } },
      'unload',
      /rawArgs\.unload: empty/,
    ],
    [
      'order starting with the module',
      { modprobe: { moduleName: 'a', modulesLoadingOrder: ['a', 'b'] } },
      'load',
      undefined,
    ],
    [
      'order starting elsewhere',
      { modprobe: { moduleName: 'a', modulesLoadingOrder: ['b', 'a'] } },
      'load',
      /must start with moduleName "a", not "b"/,
    ],
    [
      'order with a duplicate',
      { modprobe: { moduleName: 'a', modulesLoadingOrder: ['a', 'b', 'a'] } },
      'load',
      /"a" appears twice/,
    ],
  ];
  for (const [name, cfg, action, message] of cases) {
    it(name, () => {
      if (message) assert.throws(() => checkWorkerConfig(cfg, action), invalid(message));
      else assert.doesNotThrow(() => checkWorkerConfig(cfg, action));
    });
  }
});

describe('inTreeModulesOf', () => {
  it('prefers the list, falls back to the deprecated single name', () => {
    assert.deepEqual(inTreeModulesOf({ modprobe: {}, inTreeModulesToRemove: ['a', 'b'] }), [
      'a',
      'b',
    ]);
    assert.deepEqual(inTreeModulesOf({ modprobe: {}, inTreeModuleToRemove: 'old' }), ['old']);
    assert.deepEqual(inTreeModulesOf({ modprobe: {} }), []);
  });
});
