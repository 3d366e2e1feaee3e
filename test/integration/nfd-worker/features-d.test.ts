/**
 * `features.d` in a running nfd-worker against a real apiserver: a line past its expiry time
 * leaves the published NodeFeature without a restart; an executable (a hook) is skipped, and its
 * warning, like every warning, shows at the default verbosity once, not on every pass.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { installCrds } from '../../../src/api/index.js';
import type { KubeClient } from '../../../src/runtime/client.js';
import type { NodeFeatureObject } from '../../../src/nfd/worker/index.js';
import { hostFixture } from '../../fixtures/hosts/index.js';
import { eventually, testCluster, testNamespace, uniqueName } from '../../support/cluster.js';
import { startWorker, withWorkerLog, workerArgs } from './worker-process.js';

describe('nfd-worker features.d', { timeout: 240_000 }, () => {
  let client: KubeClient;
  let kubeconfig: string;
  let ns: string;

  before(async () => {
    const cluster = await testCluster();
    client = cluster.client;
    kubeconfig = cluster.kubeconfig;
    await installCrds(client);
    ns = await testNamespace(client, 'nfd-fd');
  });

  it('drops expired lines while running, skips hooks, and warns once', async () => {
    const node = uniqueName('nfd-node');
    const dir = mkdtempSync(join(tmpdir(), 'nfd-fd-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const root = join(dir, 'host');
    cpSync(hostFixture('amd-debian'), root, { recursive: true, verbatimSymlinks: true });
    const fd = join(root, 'etc/kubernetes/node-feature-discovery/features.d');
    mkdirSync(fd, { recursive: true });
    const expiry = Date.now() + 30_000;
    const stamp = new Date(expiry).toISOString().replace(/\.\d{3}Z$/, 'Z');
    writeFileSync(
      join(fd, 'leased'),
      `keep.example.com/always=yes\n# +expiry-time=${stamp}\nlease.example.com/until=soon\n`,
    );
    writeFileSync(join(fd, 'hook'), '#!/bin/sh\necho hook.example.com/ran\n', { mode: 0o755 });

    const worker = startWorker(
      workerArgs(
        { hostRoot: root, node, namespace: ns, kubeconfig },
        '-sleep-interval',
        '1s',
        '-v',
        '2',
      ),
    );

    const get = () =>
      client
        .request<NodeFeatureObject>(
          `/apis/nfd.k8s-sigs.io/v1alpha1/namespaces/${ns}/nodefeatures/${node}`,
        )
        .catch(() => undefined);
    const first = await withWorkerLog(
      worker,
      eventually(
        'NodeFeature with the feature file',
        async () => {
          const nf = await get();
          return nf?.spec.labels['keep.example.com/always'] === 'yes' ? nf : undefined;
        },
        60_000,
      ),
    );
    // Seen before the expiry time, the object came from a pass before it: the line was there.
    if (Date.now() < expiry) assert.equal(first.spec.labels['lease.example.com/until'], 'soon');
    await withWorkerLog(
      worker,
      eventually(
        'expired line gone from the NodeFeature',
        async () => {
          const nf = await get();
          return nf !== undefined && nf.spec.labels['lease.example.com/until'] === undefined;
        },
        120_000,
      ),
    );
    const last = (await get())!;
    assert.equal(last.spec.labels['keep.example.com/always'], 'yes');
    assert.deepEqual(
      Object.keys(last.spec.labels).filter((k) => k.includes('hook')),
      [],
      'nothing from the executable',
    );
    // Several passes later the hook's warning is still logged once, at warning level.
    const passes = () =>
      worker.stderr().match(/NodeFeature .*: (unchanged|updated|created)/g)?.length ?? 0;
    const seen = passes();
    await withWorkerLog(
      worker,
      eventually('three more passes', async () => passes() >= seen + 3, 60_000),
    );
    const warnings = worker
      .stderr()
      .split('\n')
      .filter((l) => /hook: executable, skipped/.test(l));
    assert.equal(warnings.length, 1, worker.stderr().slice(-2000));
    assert.match(warnings[0]!, /^W/);

    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 0, worker.stderr().slice(-2000));
  });
});
