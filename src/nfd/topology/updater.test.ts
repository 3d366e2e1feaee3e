/**
 * The updater loop against the tests' kubelet stand-in (a gRPC server on a unix socket speaking
 * the kubelet's pod-resources proto) and a fixture host; no cluster: the publisher is recorded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { NodeResourceTopology } from '../../api/nfd.js';
import { repoRoot } from '../../../test/fixtures/hosts/index.js';
import { PodResourcesStandIn } from '../../../test/integration/nfd-topology/kubelet.js';
import { podResourcesClient } from './podresources.js';
import { runTopologyUpdater, type UpdaterOptions } from './updater.js';

const root = join(repoRoot(), 'test/fixtures/hosts/numa-one');
const tmp = mkdtempSync(join(tmpdir(), 'hwe-topology-unit-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function options(socket: string, o: Partial<UpdaterOptions> = {}) {
  const published: NodeResourceTopology[] = [];
  const errors: string[] = [];
  const opts: UpdaterOptions = {
    nodeName: 'n',
    sys: join(root, 'sys'),
    kubeletConfigFile: join(root, 'var/lib/kubelet/config.yaml'),
    configFile: join(tmp, 'absent.conf'),
    watchNamespace: '*',
    sleepIntervalMs: 60_000,
    oneshot: true,
    connect: () => podResourcesClient(socket),
    pods: () => Promise.reject(new Error('no pods are listed: the API is not needed')),
    publish: async (nrt) => void published.push(nrt),
    log: { info: () => undefined, warn: () => undefined, error: (m) => void errors.push(m) },
    retryDelayMs: 50,
    ...o,
  };
  return { opts, published, errors };
}

const allocatable = { cpu_ids: [1, 2, 3], devices: [], memory: [] };

describe('runTopologyUpdater', () => {
  it('-oneshot: one pass, one object', async () => {
    const kubelet = await PodResourcesStandIn.start(join(tmp, 'a.sock'), {
      allocatable,
      list: { pod_resources: [] },
    });
    try {
      const { opts, published, errors } = options(kubelet.socket);
      assert.equal(await runTopologyUpdater(opts), 0, errors.join('\n'));
      assert.equal(published.length, 1);
      assert.deepEqual(published[0]!.zones[0]!.resources, [
        { name: 'cpu', capacity: '4', allocatable: '3', available: '3' },
      ]);
      assert.deepEqual(published[0]!.topologyPolicies, ['None']);
    } finally {
      await kubelet.stop();
    }
  });

  it('-oneshot with a dead socket: exit code 1 and an error naming the socket', async () => {
    const socket = join(tmp, 'none.sock');
    const { opts, published, errors } = options(socket);
    assert.equal(await runTopologyUpdater(opts), 1);
    assert.equal(published.length, 0);
    assert.match(
      errors[0] ?? '',
      new RegExp(`pod-resources .* on ${socket}: .*-podresources-socket`),
    );
  });

  it('keeps retrying a dead socket and publishes once the kubelet answers', async () => {
    const socket = join(tmp, 'late.sock');
    const abort = new AbortController();
    let kubelet: PodResourcesStandIn | undefined;
    const { opts, published, errors } = options(socket, {
      oneshot: false,
      signal: abort.signal,
      onError: () => {
        // After two failures the kubelet comes up.
        if (errors.length === 2)
          void PodResourcesStandIn.start(socket, { allocatable, list: { pod_resources: [] } }).then(
            (k) => (kubelet = k),
          );
      },
      onPass: () => abort.abort(),
    });
    try {
      assert.equal(await runTopologyUpdater(opts), 0);
      assert.ok(errors.length >= 2);
      assert.match(errors[0]!, /retrying in \d+s$/);
      assert.equal(published.length, 1);
    } finally {
      await kubelet?.stop();
    }
  });
});
