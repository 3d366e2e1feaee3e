import { test } from 'node:test';
import assert from 'node:assert/strict';
import { componentHealth, computeConditions, type ComponentState } from './status.js';

const ds = (status: Record<string, number>, generation = 1): ComponentState => ({
  component: 'nfd-worker',
  kind: 'DaemonSet',
  name: 'nfd-worker',
  workload: { metadata: { generation }, status: { observedGeneration: 1, ...status } },
});
const dep = (
  status: Record<string, number>,
  replicas = 1,
  component: ComponentState['component'] = 'nfd-master',
): ComponentState => ({
  component,
  kind: 'Deployment',
  name: component,
  workload: {
    metadata: { generation: 1 },
    spec: { replicas },
    status: { observedGeneration: 1, ...status },
  },
});
const ready = {
  master: dep({ replicas: 1, updatedReplicas: 1, availableReplicas: 1 }),
  gc: dep({ replicas: 1, updatedReplicas: 1, availableReplicas: 1 }, 1, 'nfd-gc'),
  worker: ds({ desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 }),
};

test('componentHealth', () => {
  const table: {
    name: string;
    c: ComponentState;
    available: boolean;
    progressing: boolean;
    message: RegExp;
  }[] = [
    {
      name: 'missing',
      c: { component: 'nfd-gc', kind: 'Deployment', name: 'nfd-gc' },
      available: false,
      progressing: true,
      message: /does not exist/,
    },
    { name: 'ds ready', c: ready.worker, available: true, progressing: false, message: /^$/ },
    {
      name: 'ds no node',
      c: ds({ desiredNumberScheduled: 0 }),
      available: false,
      progressing: false,
      message: /targets no node/,
    },
    {
      name: 'ds partly',
      c: ds({ desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 1 }),
      available: true,
      progressing: true,
      message: /1 of 3 pods available/,
    },
    {
      name: 'ds none yet',
      c: ds({ desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 0 }),
      available: false,
      progressing: true,
      message: /0 of 3 pods available/,
    },
    {
      name: 'ds rolling',
      c: ds({ desiredNumberScheduled: 3, updatedNumberScheduled: 1, numberAvailable: 3 }),
      available: true,
      progressing: true,
      message: /1 of 3 pods updated/,
    },
    {
      name: 'ds unobserved',
      c: ds({ desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 }, 2),
      available: true,
      progressing: true,
      message: /not yet observed/,
    },
    { name: 'deploy ready', c: ready.master, available: true, progressing: false, message: /^$/ },
    {
      name: 'deploy none',
      c: dep({ replicas: 1, updatedReplicas: 1 }),
      available: false,
      progressing: true,
      message: /0 of 1 replicas available/,
    },
    {
      name: 'deploy 1 of 2',
      c: dep({ replicas: 2, updatedReplicas: 2, availableReplicas: 1 }, 2),
      available: true,
      progressing: true,
      message: /1 of 2 replicas/,
    },
  ];
  for (const t of table) {
    const h = componentHealth(t.c);
    assert.equal(h.available, t.available, t.name);
    assert.equal(h.progressing, t.progressing, t.name);
    assert.match(h.message, t.message, t.name);
  }
});

const byType = (cs: ReturnType<typeof computeConditions>) =>
  Object.fromEntries(cs.map((c) => [c.type, `${c.status} ${c.reason}`]));

test('conditions', () => {
  const table: {
    name: string;
    input: Parameters<typeof computeConditions>[0];
    want: Record<string, string>;
    message?: [string, RegExp];
  }[] = [
    {
      name: 'all ready',
      input: { components: [ready.master, ready.worker, ready.gc] },
      want: {
        Available: 'True AllComponentsAvailable',
        Progressing: 'False AllComponentsUpToDate',
        Degraded: 'False AsExpected',
        Upgradeable: 'True AsExpected',
      },
    },
    {
      name: 'worker starting',
      input: {
        components: [
          ready.master,
          ds({ desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 0 }),
          ready.gc,
        ],
      },
      want: {
        Available: 'False NFDWorkerDaemonSetNotAvailable',
        Progressing: 'True NFDWorkerDaemonSetProgressing',
        Degraded: 'False AsExpected',
        Upgradeable: 'False NFDWorkerDaemonSetProgressing',
      },
      message: ['Available', /DaemonSet nfd-worker: 0 of 2 pods available/],
    },
    {
      name: 'worker cannot create pods',
      input: {
        components: [
          ready.master,
          {
            ...ds({ desiredNumberScheduled: 2, updatedNumberScheduled: 0, numberAvailable: 0 }),
            warning: 'FailedCreate: forbidden',
          },
          ready.gc,
        ],
      },
      want: {
        Available: 'False NFDWorkerDaemonSetNotAvailable',
        Progressing: 'True NFDWorkerDaemonSetProgressing',
        Degraded: 'True NFDWorkerDaemonSetDegraded',
        Upgradeable: 'False NFDWorkerDaemonSetDegraded',
      },
      message: ['Degraded', /last warning: FailedCreate: forbidden/],
    },
    {
      name: 'gc missing',
      input: {
        components: [
          ready.master,
          ready.worker,
          { component: 'nfd-gc', kind: 'Deployment', name: 'nfd-gc-blue' },
        ],
      },
      want: {
        Available: 'False NFDGcDeploymentNotAvailable',
        Progressing: 'True NFDGcDeploymentProgressing',
        Degraded: 'False AsExpected',
        Upgradeable: 'False NFDGcDeploymentProgressing',
      },
    },
    {
      name: 'invalid spec',
      input: { components: [ready.master, ready.worker, ready.gc], invalid: 'spec.instance: bad' },
      want: {
        Available: 'True AllComponentsAvailable',
        Progressing: 'False ValidationFailed',
        Degraded: 'True ValidationFailed',
        Upgradeable: 'False ValidationFailed',
      },
      message: ['Degraded', /^spec\.instance: bad$/],
    },
    {
      name: 'write failed',
      input: {
        components: [ready.master, ready.worker, ready.gc],
        applyError: { reason: 'OwnedByAnother', message: 'DaemonSet x belongs to y' },
      },
      want: {
        Available: 'True AllComponentsAvailable',
        Progressing: 'False OwnedByAnother',
        Degraded: 'True OwnedByAnother',
        Upgradeable: 'False OwnedByAnother',
      },
    },
  ];
  for (const t of table) {
    const cs = computeConditions({ generation: 4, ...t.input });
    assert.deepEqual(byType(cs), t.want, t.name);
    assert.ok(cs.every((c) => c.observedGeneration === 4));
    if (t.message)
      assert.match(cs.find((c) => c.type === t.message![0])!.message!, t.message[1], t.name);
  }
});
