/** KMM worker pods in the states the controllers tell apart, for the worker-pod view's tests. */
import type { WorkerPod } from '../../src/kmm/common/index.js';

function workerPod(status: WorkerPod['status']): WorkerPod {
  return {
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
  };
}

const STATUSES: { name: string; status: WorkerPod['status'] }[] = [
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

/** A pod on node n1 with no status, pending, failed in its init container, and evicted. */
export const WORKER_POD_CASES: { name: string; pod: WorkerPod }[] = STATUSES.map((c) => ({
  name: c.name,
  pod: workerPod(c.status),
}));
