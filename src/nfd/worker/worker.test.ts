import assert from 'node:assert/strict';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { hostFixture } from '../../../test/fixtures/hosts/index.js';
import { defaultConfig } from './config.js';
import type { NodeFeatureObject } from './discover.js';
import { resolveHostPaths } from './hostfs.js';
import type { PublishOutcome } from './publish.js';
import { runWorker, stderrLogger, type WorkerOptions } from './worker.js';

const NS = 'feature.node.kubernetes.io/';

function tempHost(): { root: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nfd-worker-loop-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'host');
  cpSync(hostFixture('intel-rhcos'), root, { recursive: true, verbatimSymlinks: true });
  return { root, dir };
}

interface Harness {
  opts: WorkerOptions;
  passes: NodeFeatureObject[];
  outcomes: (PublishOutcome | 'failed' | 'not-published')[];
  published: NodeFeatureObject[];
  nextPass(): Promise<NodeFeatureObject>;
  logText(): string;
  stop(): void;
}

function harness(over: Partial<WorkerOptions> & Pick<WorkerOptions, 'paths'>): Harness {
  const passes: NodeFeatureObject[] = [];
  const outcomes: (PublishOutcome | 'failed' | 'not-published')[] = [];
  const published: NodeFeatureObject[] = [];
  const waiters: ((nf: NodeFeatureObject) => void)[] = [];
  let consumed = 0;
  let log = '';
  const stderr = new PassThrough();
  stderr.on('data', (d: Buffer) => (log += d.toString()));
  const abort = new AbortController();
  const opts: WorkerOptions = {
    flags: {},
    oneshot: false,
    nodeName: 'node-a',
    namespace: 'nfd',
    stdout: new PassThrough(),
    log: stderrLogger(stderr),
    signal: abort.signal,
    publish: async (nf) => {
      published.push(nf);
      return 'created';
    },
    onPass: (nf, outcome) => {
      passes.push(nf);
      outcomes.push(outcome);
      waiters.shift()?.(nf);
    },
    ...over,
  };
  return {
    opts,
    passes,
    outcomes,
    published,
    logText: () => log,
    stop: () => abort.abort(),
    nextPass: () => {
      const i = consumed++;
      if (passes[i]) return Promise.resolve(passes[i]);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`no pass ${i + 1} within 10s; log:\n${log}`)),
          10_000,
        );
        waiters.push((nf) => {
          clearTimeout(t);
          resolve(nf);
        });
      });
    },
  };
}

describe('the worker loop', () => {
  it('reloads the config file, keeps the last good one, and re-reads features.d on change', async () => {
    const { root, dir } = tempHost();
    const configFile = join(dir, 'nfd-worker.conf');
    writeFileSync(
      configFile,
      'core:\n  sleepInterval: 0s\nsources:\n  kernel:\n    configOpts: [X86]\n',
    );
    const h = harness({ paths: resolveHostPaths(root), configFile });
    const done = runWorker(h.opts);

    const p1 = await h.nextPass();
    assert.equal(p1.spec.labels[`${NS}kernel-config.X86`], 'true');
    assert.equal(p1.spec.labels[`${NS}kernel-config.DMI`], undefined);

    writeFileSync(
      configFile,
      'core:\n  sleepInterval: 0s\nsources:\n  kernel:\n    configOpts: [DMI]\n',
    );
    const p2 = await h.nextPass();
    assert.equal(p2.spec.labels[`${NS}kernel-config.DMI`], 'true');
    assert.equal(p2.spec.labels[`${NS}kernel-config.X86`], undefined);

    writeFileSync(configFile, 'core:\n  sleepIntervall: 1s\n');
    const p3 = await h.nextPass();
    assert.equal(
      p3.spec.labels[`${NS}kernel-config.DMI`],
      'true',
      'last good config still applies',
    );
    assert.match(h.logText(), /keeping the last good one: .*core\.sleepIntervall: unknown option/);

    writeFileSync(
      join(root, 'etc/kubernetes/node-feature-discovery/features.d/vendor-gpu'),
      'vendor.example.com/new=1\n',
    );
    const p4 = await h.nextPass();
    assert.equal(p4.spec.labels['vendor.example.com/new'], '1');
    assert.equal(p4.spec.labels['gpu-present'], undefined);

    h.stop();
    assert.equal(await done, 0);
    assert.deepEqual(h.outcomes, ['created', 'created', 'created', 'created']);
  });

  it('reloads a config file mounted from a ConfigMap (symlink swap of ..data)', async () => {
    const { root, dir } = tempHost();
    const mount = join(dir, 'config');
    const version = (name: string, opts: string) => {
      mkdirSync(join(mount, name), { recursive: true });
      writeFileSync(
        join(mount, name, 'nfd-worker.conf'),
        `sources: {kernel: {configOpts: [${opts}]}}\n`,
      );
    };
    version('..2026_01_01_00_00_00.1', 'X86');
    symlinkSync('..2026_01_01_00_00_00.1', join(mount, '..data'));
    symlinkSync('..data/nfd-worker.conf', join(mount, 'nfd-worker.conf'));
    const h = harness({
      paths: resolveHostPaths(root),
      configFile: join(mount, 'nfd-worker.conf'),
      flags: { sleepInterval: 0 },
    });
    const done = runWorker(h.opts);
    assert.equal((await h.nextPass()).spec.labels[`${NS}kernel-config.X86`], 'true');

    // What the kubelet does on a ConfigMap update: new directory, then an atomic ..data rename.
    version('..2026_01_01_00_01_00.2', 'DMI');
    symlinkSync('..2026_01_01_00_01_00.2', join(mount, '..data_tmp'));
    renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
    const p2 = await h.nextPass();
    assert.equal(p2.spec.labels[`${NS}kernel-config.DMI`], 'true');
    assert.equal(p2.spec.labels[`${NS}kernel-config.X86`], undefined);
    h.stop();
    assert.equal(await done, 0);
  });

  it('notices a features.d created after start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nfd-worker-loop-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const root = join(dir, 'host');
    cpSync(hostFixture('amd-debian'), root, { recursive: true, verbatimSymlinks: true });
    const h = harness({ paths: resolveHostPaths(root), flags: { sleepInterval: 0 } });
    const done = runWorker(h.opts);
    await h.nextPass();
    let path = join(root, 'etc');
    for (const part of ['kubernetes', 'node-feature-discovery', 'features.d']) {
      path = join(path, part);
      mkdirSync(path);
    }
    writeFileSync(join(path, 'late'), 'late.example.com/file=yes\n');
    let seen = false;
    for (let i = 0; i < 5 && !seen; i++) {
      seen = (await h.nextPass()).spec.labels['late.example.com/file'] === 'yes';
    }
    h.stop();
    assert.equal(await done, 0);
    assert.ok(seen, h.logText());
  });

  it('logs each discovery warning once while it lasts, at the default level', async () => {
    const { root } = tempHost();
    const fd = join(root, 'etc/kubernetes/node-feature-discovery/features.d');
    writeFileSync(join(fd, 'bad'), 'bad.example.com/x=ends-\n');
    const h = harness({ paths: resolveHostPaths(root), flags: { sleepInterval: 20 } });
    const done = runWorker(h.opts);
    for (let i = 0; i < 3; i++) await h.nextPass();
    const count = () => h.logText().match(/^W.*bad\.example\.com\/x=ends- left out/gm)?.length ?? 0;
    assert.equal(count(), 1, h.logText());
    // Gone, then back: logged again.
    writeFileSync(join(fd, 'bad'), 'bad.example.com/x=fine\n');
    await h.nextPass();
    await h.nextPass();
    writeFileSync(join(fd, 'bad'), 'bad.example.com/x=ends-\n');
    await h.nextPass();
    await h.nextPass();
    h.stop();
    assert.equal(await done, 0);
    assert.equal(count(), 2, h.logText());
  });

  it('runs again every sleepInterval', async () => {
    const { root } = tempHost();
    const h = harness({ paths: resolveHostPaths(root), flags: { sleepInterval: 20 } });
    const done = runWorker(h.opts);
    for (let i = 0; i < 3; i++) await h.nextPass();
    h.stop();
    assert.equal(await done, 0);
    assert.ok(h.passes.length >= 3);
  });

  it('noPublish in the file is a dry run; a flag overrides it', async () => {
    const { root, dir } = tempHost();
    const configFile = join(dir, 'c.conf');
    writeFileSync(configFile, 'core: {noPublish: true}\n');
    const dry = harness({ paths: resolveHostPaths(root), configFile, oneshot: true });
    assert.equal(await runWorker(dry.opts), 0);
    assert.deepEqual(dry.outcomes, ['not-published']);
    assert.equal(dry.published.length, 0);

    const wet = harness({
      paths: resolveHostPaths(root),
      configFile,
      oneshot: true,
      flags: { noPublish: false },
    });
    assert.equal(await runWorker(wet.opts), 0);
    assert.equal(wet.published.length, 1);
    assert.equal(wet.published[0]!.metadata.name, 'node-a');
  });

  it('a config error at start-up stops the worker with the key named', async () => {
    const { root, dir } = tempHost();
    const configFile = join(dir, 'c.conf');
    writeFileSync(configFile, 'sources:\n  pci:\n    deviceClassWhitelist: "03"\n');
    const h = harness({ paths: resolveHostPaths(root), configFile, oneshot: true });
    assert.equal(await runWorker(h.opts), 2);
    assert.match(
      h.logText(),
      /c\.conf: sources\.pci\.deviceClassWhitelist: "03" is not a list of strings/,
    );
    assert.equal(h.passes.length, 0);
  });

  it('retries a failed publish even without a sleep interval', async () => {
    const { root } = tempHost();
    let calls = 0;
    const h = harness({
      paths: resolveHostPaths(root),
      flags: { sleepInterval: 0 },
      retryDelayMs: 10,
      publish: async () => {
        if (++calls <= 2) throw new Error(`apiserver unavailable (${calls})`);
        return 'created';
      },
    });
    const done = runWorker(h.opts);
    for (let i = 0; i < 3; i++) await h.nextPass();
    h.stop();
    assert.equal(await done, 0);
    assert.deepEqual(h.outcomes, ['failed', 'failed', 'created']);
    assert.match(h.logText(), /apiserver unavailable \(2\)/);
  });

  it('a failed publish in oneshot mode is exit 1', async () => {
    const { root } = tempHost();
    const h = harness({
      paths: resolveHostPaths(root),
      oneshot: true,
      publish: async () => {
        throw new Error('apiserver says no');
      },
    });
    assert.equal(await runWorker(h.opts), 1);
    assert.match(h.logText(), /publishing NodeFeature nfd\/node-a: apiserver says no/);
  });
});

describe('klog options', () => {
  it('logFile, logtostderr, stderrthreshold, skipHeaders and v', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nfd-worker-log-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    let err = '';
    const stderr = new PassThrough();
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const log = stderrLogger(stderr);
    const klog = {
      ...defaultConfig().core.klog,
      logtostderr: false,
      logFile: join(dir, 'w.log'),
      skipHeaders: true,
      v: 2,
    };
    log.configure(klog);
    log.info('to the file');
    log.debug(2, 'detail at v=2');
    log.debug(3, 'detail at v=3');
    log.error('to both');
    assert.equal(readFileSync(join(dir, 'w.log'), 'utf8'), 'to the file\ndetail at v=2\nto both\n');
    assert.equal(err, 'to both\n');
    log.configure({ ...klog, logtostderr: true, skipHeaders: false }, 0);
    log.debug(1, 'hidden by -v 0');
    log.warn('headed');
    assert.match(err, /to both\nW\d{4}-\d\d-\d\dT[^ ]+ nfd-worker: headed\n$/);
  });
});
