import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildConfig,
  ConfigError,
  defaultConfig,
  mergeOverlay,
  parseConfigText,
  resolveSourceList,
} from './config.js';
import { parseGoDuration } from '../../runtime/duration.js';

describe('parseGoDuration', () => {
  const cases: [string, number | undefined][] = [
    ['60s', 60_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['0', 0],
    ['-1s', -1000],
    ['10', undefined],
    ['s', undefined],
    ['1d', undefined],
    ['', undefined],
    ['1m 30s', undefined],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${want}`, () => assert.equal(parseGoDuration(input), want));
  }
});

describe('parseConfigText', () => {
  it('reads the seed example and keeps defaults for empty keys', async () => {
    const o = await parseConfigText(`
core:
  # labelWhiteList:
  sleepInterval: 60s
  klog:
    v: 3
    logtostderr: false
sources:
  cpu:
    cpuid:
      attributeBlacklist: ["BMI1", "BMI2"]
      attributeWhitelist:
  kernel:
    kconfigFile: "/path/to/kconfig"
    configOpts: ["NO_HZ", "X86", "DMI"]
  pci:
    deviceClassWhitelist: ["0200", "03", "12"]
    deviceLabelFields: ["class"]
`);
    const c = buildConfig(o);
    assert.equal(c.core.sleepInterval, 60_000);
    assert.equal(c.core.klog.v, 3);
    assert.equal(c.core.klog.logtostderr, false);
    assert.equal(c.core.klog.logFileMaxSize, 1800);
    assert.deepEqual(c.sources.cpu.cpuid.attributeBlacklist, ['BMI1', 'BMI2']);
    assert.deepEqual(c.sources.cpu.cpuid.attributeWhitelist, []);
    assert.equal(c.sources.kernel.kconfigFile, '/path/to/kconfig');
    assert.deepEqual(c.sources.kernel.configOpts, ['NO_HZ', 'X86', 'DMI']);
    assert.deepEqual(c.sources.pci.deviceClassWhitelist, ['0200', '03', '12']);
    assert.deepEqual(c.sources.pci.deviceLabelFields, ['class']);
    assert.deepEqual(c.sources.usb, defaultConfig().sources.usb);
  });

  it('keeps an unquoted PCI class such as 0200 as written', async () => {
    const c = buildConfig(
      await parseConfigText('sources: {pci: {deviceClassWhitelist: [0200, 03]}}'),
    );
    assert.deepEqual(c.sources.pci.deviceClassWhitelist, ['0200', '03']);
  });

  const bad: [string, string, RegExp][] = [
    ['core:\n  sleepIntervall: 10s\n', 'core.sleepIntervall', /unknown option/],
    ['core:\n  sleepInterval: soon\n', 'core.sleepInterval', /not a duration/],
    ['core:\n  noPublish: maybe\n', 'core.noPublish', /not a boolean/],
    ['core:\n  klog:\n    v: high\n', 'core.klog.v', /not an integer/],
    ['core:\n  sources: system\n', 'core.sources', /not a list of strings/],
    [
      'sources:\n  pci:\n    deviceLabelFields: [class, colour]\n',
      'sources.pci.deviceLabelFields',
      /unknown field "colour"/,
    ],
    [
      'sources:\n  usb:\n    deviceLabelFields: [subsystem_vendor]\n',
      'sources.usb.deviceLabelFields',
      /unknown field/,
    ],
    ['sources:\n  gpu: {}\n', 'sources.gpu', /unknown option; known here: cpu, kernel/],
    ['sources:\n  custom: {name: x}\n', 'sources.custom', /not a list of rules/],
    ['core: [1]\n', 'core', /not a map/],
  ];
  for (const [text, field, msg] of bad) {
    it(`rejects ${field}: ${msg}`, async () => {
      await assert.rejects(parseConfigText(text, 'nfd-worker.conf'), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.field, field);
        assert.match(e.message, msg);
        assert.match(e.message, /^nfd-worker\.conf: /);
        return true;
      });
    });
  }

  it('rejects malformed YAML and duplicate keys', async () => {
    await assert.rejects(parseConfigText('core: [1\n'), /not valid YAML/);
    await assert.rejects(parseConfigText('core: {}\ncore: {}\n'), /not valid YAML/);
  });
});

describe('buildConfig precedence', () => {
  it('file < -options < flags, maps merged key by key', async () => {
    const file = await parseConfigText(
      'core: {sleepInterval: 10s, noPublish: true, labelWhiteList: "^cpu"}\nsources: {kernel: {configOpts: [X86]}}',
    );
    const options = await parseConfigText('core: {sleepInterval: 20s}');
    const c = buildConfig(mergeOverlay(file, options), { noPublish: false });
    assert.equal(c.core.sleepInterval, 20_000);
    assert.equal(c.core.noPublish, false);
    assert.equal(c.core.labelWhiteList, '^cpu');
    assert.deepEqual(c.sources.kernel.configOpts, ['X86']);
    const flagged = buildConfig(file, { sleepInterval: 0, labelWhiteList: '' });
    assert.equal(flagged.core.sleepInterval, 0);
    assert.equal(flagged.core.labelWhiteList, '');
  });

  it('core.sources is the label source list; --sources wins over it', async () => {
    const file = await parseConfigText('core: {sources: [system, custom]}');
    assert.deepEqual(buildConfig(file).core.labelSources, ['system', 'custom']);
    assert.deepEqual(buildConfig(file).core.featureSources, ['all']);
    assert.deepEqual(buildConfig(file, { sources: ['pci'] }).core.labelSources, ['pci']);
  });

  it('does not share default lists between configurations', () => {
    const a = buildConfig({});
    a.sources.kernel.configOpts.push('X');
    assert.deepEqual(
      buildConfig({}).sources.kernel.configOpts,
      defaultConfig().sources.kernel.configOpts,
    );
    assert.ok(!defaultConfig().sources.kernel.configOpts.includes('X'));
  });
});

describe('resolveSourceList', () => {
  const known = ['cpu', 'kernel', 'pci', 'custom'];
  it('expands all and removes -name', () => {
    assert.deepEqual([...resolveSourceList(['all', '-pci'], known, 'f')].sort(), [
      'cpu',
      'custom',
      'kernel',
    ]);
    assert.deepEqual([...resolveSourceList(['kernel'], known, 'f')], ['kernel']);
    assert.deepEqual([...resolveSourceList([], known, 'f')], []);
  });
  it('names the option and the unknown source', () => {
    assert.throws(
      () => resolveSourceList(['gpu'], known, 'core.labelSources'),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.field, 'core.labelSources');
        assert.match(e.message, /unknown source "gpu"/);
        return true;
      },
    );
  });
});
