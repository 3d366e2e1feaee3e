import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  defaultConfig,
  defaultConfigYaml,
  isManaged,
  parseOperatorConfig,
} from './config.js';
import { parseGoDuration } from '../../runtime/duration.js';

test('an empty config is the defaults', () => {
  assert.deepEqual(parseOperatorConfig(''), defaultConfig());
  assert.equal(defaultConfig().worker.firmwareHostPath, '/var/lib/firmware');
  assert.equal(defaultConfig().leaderElection.resourceID, 'kmm.sigs.x-k8s.io');
});

test('the generated default file parses back to the defaults', () => {
  assert.deepEqual(parseOperatorConfig(defaultConfigYaml()), defaultConfig());
});

test('given fields override the defaults, the others stay', () => {
  const c = parseOperatorConfig(
    'worker:\n  firmwareHostPath: /lib/firmware\n  runAsUser: 1000\njob:\n  gcDelay: 1m30s\n',
  );
  assert.equal(c.worker.firmwareHostPath, '/lib/firmware');
  assert.equal(c.worker.runAsUser, 1000);
  assert.equal(c.worker.seLinuxType, 'spc_t');
  assert.equal(c.job.gcDelayMs, 90_000);
  assert.equal(c.webhookPort, 9443);
});

for (const [name, text, field, pattern] of [
  ['misspelt top-level field', 'webhookport: 1', 'webhookport', /unknown field/],
  ['misspelt nested field', 'worker:\n  firmwarePath: /x', 'worker.firmwarePath', /unknown field/],
  ['wrong type', 'leaderElection:\n  enabled: "yes"', 'leaderElection.enabled', /boolean/],
  ['bad duration', 'job:\n  gcDelay: 5 minutes', 'job.gcDelay', /not a duration/],
  [
    'relative firmware path',
    'worker:\n  firmwareHostPath: lib/fw',
    'worker.firmwareHostPath',
    /absolute/,
  ],
  ['port out of range', 'webhookPort: 70000', 'webhookPort', /not a port/],
  ['section not a map', 'metrics: 3', 'metrics', /map/],
  ['not YAML', 'a: [', '', /not valid YAML/],
] as const) {
  test(`strict parsing: ${name}`, () => {
    assert.throws(
      () => parseOperatorConfig(text),
      (e: unknown) => e instanceof ConfigError && e.field === field && pattern.test(e.message),
    );
  });
}

test('Go durations', () => {
  assert.equal(parseGoDuration('0s'), 0);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('250ms'), 250);
  assert.equal(parseGoDuration('1h2m3s'), 3_723_000);
  assert.equal(parseGoDuration('1.5s'), 1500);
  assert.equal(parseGoDuration('10'), undefined);
  assert.equal(parseGoDuration(''), undefined);
  assert.equal(parseGoDuration('1d'), undefined);
});

test('KMM_MANAGED is read as Go reads a bool: 1 and true turn managed mode on', () => {
  for (const v of ['1', 't', 'T', 'true', 'TRUE', 'True']) assert.equal(isManaged(v), true, v);
  for (const v of [undefined, '', '0', 'false', 'yes', 'on', ' 1'])
    assert.equal(isManaged(v), false, v);
});
