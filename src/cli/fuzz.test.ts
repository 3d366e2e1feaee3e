/**
 * Fuzzing the decoders of what users write: the flags of every command, the KMM operator
 * config, the nfd-worker config and the Module decoder of `hwe kmm resolve`. Thousands of
 * generated inputs (valid documents with fields mutated, wrong types, deep nesting, huge
 * strings and numbers, control characters, lone surrogates, YAML aliases) go through the
 * public entry points; every one must be answered with a result or the decoder's own error
 * (naming a field or flag), never another exception, and within WITHIN_MS. The counts are
 * printed so that a generator that only ever hits errors shows.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { rng, type Rng } from '../../test/support/fuzz.js';
import { type Command, type FlagSpec, UsageError, parseFlags } from '../command/command.js';
import { nfdCommands } from '../nfd/commands.js';
import { kmmCommands } from '../kmm/commands.js';
import { dtkCommands } from '../dtk/commands.js';
import { clusterCommand } from '../cluster/command.js';
import { mustGatherCommand } from '../mustgather/command.js';
import {
  ConfigError as KmmConfigError,
  defaultConfigYaml,
  parseOperatorConfig,
} from '../kmm/operator/config.js';
import {
  ConfigError as NfdConfigError,
  buildConfig,
  parseConfigText,
} from '../nfd/worker/config.js';
import { decodeModule } from '../kmm/kernelmapping/decode.js';
import { KernelMappingError } from '../kmm/kernelmapping/errors.js';
import { testModule } from '../../test/fixtures/kmm/module.js';

/** Generous: an input that takes longer than this is a hang in the making. */
const WITHIN_MS = 5_000;

const STRINGS = [
  '',
  ' ',
  'true',
  'false',
  '0',
  '-1',
  '1e309',
  '99999999999999999999999',
  '0x10',
  '1h',
  '30s',
  '-5m',
  '1.5.3',
  '6.1.0-18-amd64',
  ':8443',
  '0.0.0.0:99999',
  '/opt',
  'relative/path',
  '\u0000',
  '\uD800',
  '\uFFFD',
  '🐧',
  '${KERNEL_FULL_VERSION}',
  '*',
  '.*',
  '(a+)+$',
  '[',
  '---',
  '{',
  '- a',
  '&a [*a, *a]',
  'null',
  '~',
];

function str(r: Rng): string {
  switch (r.int(5)) {
    case 0:
      return r.pick(STRINGS).repeat(1 + r.int(3));
    case 1:
      return r.pick(['x', '9', '.', '\u0001', '🐧']).repeat(r.int(50_000));
    case 2:
      return Buffer.from(Array.from({ length: r.int(40) }, () => r.int(256))).toString('utf8');
    default:
      return r.pick(STRINGS);
  }
}

function value(r: Rng, keys: readonly string[], depth = 0): unknown {
  switch (r.int(depth > 4 ? 4 : 7)) {
    case 0:
      return str(r);
    case 1:
      return r.pick([0, -1, 1, 65536, 2 ** 31, 2 ** 53 + 1, 1e308, -1e308, 0.5]);
    case 2:
      return r.pick([true, false, null]);
    case 3:
      return r.int(3) === 0 ? [] : {};
    case 4:
      return Array.from({ length: r.int(5) }, () => value(r, keys, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(6); i > 0; i--) {
        o[r.int(4) === 0 ? str(r) : r.pick(keys)] = value(r, keys, depth + 1);
      }
      return o;
    }
  }
}

/** Replaces one randomly chosen leaf or map of a valid document with a generated value. */
function mutate(r: Rng, doc: unknown, keys: readonly string[]): unknown {
  if (doc === null || typeof doc !== 'object' || r.int(4) === 0) return value(r, keys);
  const copy: Record<string, unknown> | unknown[] = Array.isArray(doc)
    ? [...(doc as unknown[])]
    : { ...doc };
  const ks = Object.keys(copy);
  if (!ks.length) return value(r, keys);
  const k = r.pick(ks);
  const c = copy as Record<string, unknown>;
  if (r.int(5) === 0) delete c[k];
  else c[k] = mutate(r, c[k], keys);
  return copy;
}

/** YAML text: a mutated document, raw bytes, or a valid one with its text cut or spliced. */
function yamlText(r: Rng, valid: Record<string, unknown>, keys: readonly string[]): string {
  switch (r.int(6)) {
    case 0: {
      const t = stringify(valid);
      const at = r.int(t.length);
      return t.slice(0, at) + str(r) + t.slice(at + r.int(10));
    }
    case 1:
      return Buffer.from(Array.from({ length: r.int(200) }, () => r.int(256))).toString('utf8');
    case 2: // aliases that expand exponentially
      return `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`;
    case 3:
      return JSON.stringify(mutate(r, valid, keys));
    default:
      try {
        return stringify(mutate(r, valid, keys));
      } catch {
        return '{}';
      }
  }
}

interface Tally {
  results: number;
  errors: number;
  slowestMs: number;
}

/** Runs one input; the decoder's own errors count as answers, anything else fails the test. */
async function answer(
  tally: Tally,
  input: () => unknown,
  isOwnError: (e: unknown) => boolean,
  show: () => string,
): Promise<void> {
  const start = performance.now();
  try {
    await input();
    tally.results++;
  } catch (e) {
    if (!isOwnError(e)) {
      assert.fail(`${String(e)}\n${(e as Error).stack}\ninput: ${show().slice(0, 500)}`);
    }
    assert.ok(
      (e as Error).message.length < 2_000,
      `a bounded message: ${(e as Error).message.slice(0, 200)}…`,
    );
    tally.errors++;
  }
  const ms = performance.now() - start;
  tally.slowestMs = Math.max(tally.slowestMs, ms);
  assert.ok(ms < WITHIN_MS, `answered in ${Math.round(ms)} ms: ${show().slice(0, 300)}`);
}

function report(t: TestContext, what: string, n: number, tally: Tally): void {
  t.diagnostic(
    `${what}: ${n} inputs, ${tally.results} results, ${tally.errors} errors, slowest ${Math.round(tally.slowestMs)} ms`,
  );
  assert.equal(tally.results + tally.errors, n);
  // Both outcomes: a fuzzer that only hits errors tests little.
  assert.ok(tally.results > n / 50 && tally.errors > n / 50, JSON.stringify(tally));
}

async function allCommands(c: Command, path: string[] = []): Promise<[string, FlagSpec[]][]> {
  const full = c.load ? await c.load() : c;
  const here: [string, FlagSpec[]][] = full.flags?.length ? [[path.join(' '), full.flags]] : [];
  const subs = await Promise.all(
    (full.subcommands ?? []).map((s) => allCommands(s, [...path, s.name])),
  );
  return [...here, ...subs.flat()];
}

test('the flags of every command: each argv parsed or refused with a usage error', async (t) => {
  // main.js runs the program when imported: the same tree, assembled from its parts.
  const root: Command = {
    name: 'hwe',
    summary: '',
    subcommands: [
      ...nfdCommands,
      ...kmmCommands,
      ...dtkCommands,
      clusterCommand,
      mustGatherCommand,
    ],
  };
  const commands = await allCommands(root);
  assert.ok(commands.length > 10, `${commands.length} commands with flags`);
  const r = rng(0x666c6167);
  const tally: Tally = { results: 0, errors: 0, slowestMs: 0 };
  const N = 5_000;
  for (let i = 0; i < N; i++) {
    const [, specs] = r.pick(commands);
    const argv = Array.from({ length: r.int(8) }, () => {
      const f = r.pick(specs);
      switch (r.int(6)) {
        case 0:
          return `--${f.name}=${str(r)}`;
        case 1:
          return `-${f.name}`;
        case 2:
          return str(r);
        case 3:
          return r.pick(['--', '-', '--=', '---x', '-h=maybe', `--${str(r)}`]);
        default:
          return r.int(2) ? `--${f.name}` : r.pick(['1', '0', 'true', 'x', '1h', '']);
      }
    });
    await answer(
      tally,
      () => parseFlags(specs, argv),
      (e) => e instanceof UsageError,
      () => JSON.stringify(argv),
    );
  }
  report(t, 'command flags', N, tally);
});

const KMM_KEYS = [
  'healthProbeBindAddress',
  'webhookPort',
  'leaderElection',
  'enabled',
  'resourceID',
  'metrics',
  'bindAddress',
  'enableAuthnAuthz',
  'secureServing',
  'worker',
  'runAsUser',
  'seLinuxType',
  'firmwareHostPath',
  'job',
  'gcDelay',
];

test('the KMM operator config: each text decoded or refused naming the field', async (t) => {
  const valid = (await import('yaml')).parse(defaultConfigYaml()) as Record<string, unknown>;
  const r = rng(0x6b6d6d63);
  const tally: Tally = { results: 0, errors: 0, slowestMs: 0 };
  const N = 3_000;
  for (let i = 0; i < N; i++) {
    const text = yamlText(r, valid, KMM_KEYS);
    await answer(
      tally,
      () => parseOperatorConfig(text),
      (e) => e instanceof KmmConfigError,
      () => text,
    );
  }
  report(t, 'KMM operator config', N, tally);
});

const NFD_KEYS = [
  'core',
  'sleepInterval',
  'sources',
  'featureSources',
  'labelSources',
  'labelWhiteList',
  'noPublish',
  'klog',
  'cpu',
  'cpuid',
  'attributeBlacklist',
  'attributeWhitelist',
  'kernel',
  'kconfigFile',
  'configOpts',
  'pci',
  'deviceClassWhitelist',
  'deviceLabelFields',
  'usb',
  'custom',
  'name',
  'labels',
  'matchFeatures',
  'matchAny',
  'feature',
  'matchExpressions',
  'op',
  'value',
];

test('the nfd-worker config: each text decoded or refused naming the field', async (t) => {
  const valid = {
    core: {
      sleepInterval: '60s',
      labelSources: ['all'],
      featureSources: ['all'],
      noPublish: false,
    },
    sources: {
      cpu: { cpuid: { attributeBlacklist: ['BMI1'] } },
      kernel: { configOpts: ['NO_HZ'] },
      pci: { deviceClassWhitelist: ['0200', '03'], deviceLabelFields: ['vendor'] },
      custom: [
        {
          name: 'rule',
          labels: { a: 'b' },
          matchFeatures: [
            { feature: 'kernel.loadedmodule', matchExpressions: { e1000e: { op: 'Exists' } } },
          ],
        },
      ],
    },
  };
  const r = rng(0x6e666477);
  const tally: Tally = { results: 0, errors: 0, slowestMs: 0 };
  const N = 3_000;
  for (let i = 0; i < N; i++) {
    const text = yamlText(r, valid, NFD_KEYS);
    await answer(
      tally,
      async () => buildConfig(await parseConfigText(text, 'fuzz.conf')),
      (e) => e instanceof NfdConfigError,
      () => text,
    );
  }
  report(t, 'nfd-worker config', N, tally);
});

const MODULE_KEYS = [
  'apiVersion',
  'kind',
  'metadata',
  'name',
  'namespace',
  'spec',
  'selector',
  'moduleLoader',
  'container',
  'modprobe',
  'moduleName',
  'dirName',
  'firmwarePath',
  'kernelMappings',
  'literal',
  'regexp',
  'containerImage',
  'build',
  'sign',
  'registryTLS',
  'insecure',
  'version',
];

test('the Module decoder of kmm resolve: each document a Module or an error naming the field', async (t) => {
  const valid = testModule({
    modprobe: { moduleName: 'm', dirName: '/opt' },
    kernelMappings: [
      { regexp: '^.+$', containerImage: 'r.example/m:${KERNEL_FULL_VERSION}' },
      { literal: '6.1.0', containerImage: 'r.example/m:1' },
    ],
  });
  const r = rng(0x6d6f64);
  const tally: Tally = { results: 0, errors: 0, slowestMs: 0 };
  const N = 3_000;
  for (let i = 0; i < N; i++) {
    const doc = mutate(r, valid, MODULE_KEYS);
    await answer(
      tally,
      () => {
        const res = decodeModule(doc);
        if (!res.ok) throw res.error;
        return res.value;
      },
      (e) => e instanceof KernelMappingError,
      () => JSON.stringify(doc),
    );
  }
  report(t, 'Module decoder', N, tally);
});
