import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trimWorkerPod, type WorkerPod } from '../common/index.js';
import { failureMessage, podConfig } from './pod.js';

const pod = (status: WorkerPod['status']): WorkerPod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'kmm-worker-n1-m',
    namespace: 'ns',
    uid: 'u1',
    labels: { 'kmm.node.kubernetes.io/worker.role': 'worker' },
    annotations: { 'kmm.node.kubernetes.io/worker-config': '{"containerImage":"img"}' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'n1', uid: 'o1' }],
  },
  spec: {
    nodeName: 'n1',
    containers: [{ name: 'worker', image: 'hwe', args: ['kmm', 'worker'] }],
    volumes: [{ name: 'image', emptyDir: {} }],
  },
  status,
});

test('trimWorkerPod keeps what the controllers read and drops the rest', () => {
  const cases: { name: string; status: WorkerPod['status'] }[] = [
    { name: 'no status', status: undefined },
    { name: 'pending', status: { phase: 'Pending' } },
    {
      name: 'init container failed',
      status: {
        phase: 'Failed',
        initContainerStatuses: [
          {
            name: 'image-extractor',
            state: { terminated: { exitCode: 1, message: 'no cp', reason: 'Error' } },
          },
        ],
        containerStatuses: [{ name: 'worker', state: {} }],
      },
    },
    {
      name: 'pod failed with a message',
      status: { phase: 'Failed', message: 'evicted', reason: 'Evicted' },
    },
  ];
  for (const c of cases) {
    const full = pod(c.status);
    const slim = trimWorkerPod(structuredClone(full));
    assert.deepEqual(slim.metadata, full.metadata, c.name);
    assert.equal(slim.spec.nodeName, 'n1', c.name);
    assert.equal(slim.spec.containers, undefined, c.name);
    assert.equal(slim.status?.phase, full.status?.phase, c.name);
    assert.deepEqual(podConfig(slim), podConfig(full), c.name);
    if (full.status?.phase === 'Failed') {
      assert.equal(failureMessage(slim), failureMessage(full), c.name);
    }
  }
});
