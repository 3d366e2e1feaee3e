import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BuildSignImageState, ModuleBuildSignSpec } from '../../api/index.js';
import type { OpenShiftBuild, Pod } from '../build/index.js';
import {
  buildOutcome,
  collectAfterMs,
  describeWork,
  keptSuccesses,
  podOutcome,
  reasonsOf,
  type Outcome,
} from './outcome.js';

const pod = (status: Pod['status']): Pod => ({
  metadata: { name: 'p' },
  spec: { restartPolicy: 'Never', containers: [] },
  status,
});
const build = (status: OpenShiftBuild['status']): OpenShiftBuild =>
  ({ metadata: { name: 'b' }, status }) as OpenShiftBuild;
const T = '2026-01-01T00:00:00Z';

describe('podOutcome', () => {
  const cases: { name: string; status: Pod['status']; want: Outcome }[] = [
    { name: 'no status yet', status: undefined, want: { phase: 'Pending' } },
    { name: 'running', status: { phase: 'Running' }, want: { phase: 'Pending' } },
    {
      name: 'succeeded, with the finish time of its container',
      status: {
        phase: 'Succeeded',
        containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 0, finishedAt: T } } }],
      },
      want: { phase: 'Succeeded', finishedAt: T },
    },
    {
      name: 'succeeded without container statuses',
      status: { phase: 'Succeeded' },
      want: { phase: 'Succeeded', finishedAt: undefined },
    },
    {
      name: 'failed: the termination message (end of the log), trimmed',
      status: {
        phase: 'Failed',
        message: 'pod message',
        containerStatuses: [
          {
            name: 'c',
            state: {
              terminated: {
                exitCode: 1,
                reason: 'Error',
                message: '\nerror: no such file\n',
                finishedAt: T,
              },
            },
          },
        ],
      },
      want: { phase: 'Failed', message: 'error: no such file', finishedAt: T },
    },
    {
      name: 'failed without a message: the container reason',
      status: {
        phase: 'Failed',
        containerStatuses: [
          { name: 'c', state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } },
        ],
      },
      want: { phase: 'Failed', message: 'OOMKilled', finishedAt: undefined },
    },
    {
      name: "failed without container status: the pod's message",
      status: { phase: 'Failed', message: 'Pod was evicted', reason: 'Evicted' },
      want: { phase: 'Failed', message: 'Pod was evicted', finishedAt: undefined },
    },
    {
      name: "failed with a reason only: the pod's reason",
      status: { phase: 'Failed', reason: 'DeadlineExceeded' },
      want: { phase: 'Failed', message: 'DeadlineExceeded', finishedAt: undefined },
    },
    {
      name: 'failed with nothing said',
      status: { phase: 'Failed' },
      want: { phase: 'Failed', message: 'the pod failed', finishedAt: undefined },
    },
    {
      name: 'cannot pull its image: pending, saying why',
      status: {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'c',
            state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling "x"' } },
          },
        ],
      },
      want: { phase: 'Pending', message: 'ImagePullBackOff: Back-off pulling "x"' },
    },
    {
      name: 'a missing Secret key: pending, reason without message',
      status: {
        phase: 'Pending',
        containerStatuses: [
          { name: 'c', state: { waiting: { reason: 'CreateContainerConfigError' } } },
        ],
      },
      want: { phase: 'Pending', message: 'CreateContainerConfigError:' },
    },
    {
      name: 'still creating its container: pending, nothing to say',
      status: {
        phase: 'Pending',
        containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ContainerCreating' } } }],
      },
      want: { phase: 'Pending' },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(podOutcome(pod(c.status)), c.want));
});

describe('buildOutcome', () => {
  const cases: { name: string; status: OpenShiftBuild['status']; want: Outcome }[] = [
    { name: 'no status yet', status: undefined, want: { phase: 'Pending' } },
    { name: 'new', status: { phase: 'New' }, want: { phase: 'Pending' } },
    { name: 'running', status: { phase: 'Running' }, want: { phase: 'Pending' } },
    {
      name: 'complete',
      status: { phase: 'Complete', completionTimestamp: T },
      want: { phase: 'Succeeded', finishedAt: T },
    },
    {
      name: 'failed: message and log snippet',
      status: {
        phase: 'Failed',
        message: 'Docker build strategy has failed.',
        logSnippet: 'make: *** Error 2',
      },
      want: { phase: 'Failed', message: 'Docker build strategy has failed.: make: *** Error 2' },
    },
    {
      name: 'error without words',
      status: { phase: 'Error' },
      want: { phase: 'Failed', message: 'the Build ended Error' },
    },
    {
      name: 'cancelled',
      status: { phase: 'Cancelled', message: 'cancelled by user' },
      want: { phase: 'Failed', message: 'cancelled by user' },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(buildOutcome(build(c.status)), c.want));
});

describe('collectAfterMs', () => {
  const cases: [string, boolean, boolean, number, number, number, number | undefined][] = [
    // name, clean, current, doneAt, now, gcDelay, want
    ['a clean success with gcDelay 0 goes at once', true, true, 1000, 1000, 0, 0],
    ['a clean success waits gcDelay after it finished', true, true, 1000, 4000, 10_000, 7000],
    ['a clean success past its gcDelay goes', true, false, 1000, 20_000, 10_000, 0],
    ['the current failure stays (its log is the diagnosis)', false, true, 0, 1000, 0, undefined],
    ['a superseded failure goes at once', false, false, 0, 1000, 10_000, 0],
  ];
  for (const [name, clean, current, doneAt, now, gc, want] of cases) {
    it(name, () => assert.equal(collectAfterMs(clean, current, doneAt, now, gc), want));
  }
});

describe('reasonsOf and describeWork', () => {
  const buildEntry: ModuleBuildSignSpec = {
    image: 'reg/drv:k1',
    kernelVersion: 'k1',
    action: 'BuildImage',
    build: { dockerfileConfigMap: { name: 'df' } },
  };
  const signEntry: ModuleBuildSignSpec = {
    image: 'reg/drv:k1',
    kernelVersion: 'k1',
    action: 'SignImage',
  };
  it('build and sign have their own reasons', () => {
    assert.deepEqual(reasonsOf('BuildImage'), {
      created: 'BuildCreated',
      succeeded: 'BuildSucceeded',
      failed: 'BuildFailed',
      pending: 'BuildPending',
    });
    assert.deepEqual(reasonsOf('SignImage'), {
      created: 'SignCreated',
      succeeded: 'SignSucceeded',
      failed: 'SignFailed',
      pending: 'SignPending',
    });
  });
  it('names the image, the kernel and the Dockerfile ConfigMap', () => {
    assert.equal(
      describeWork(buildEntry),
      'build of reg/drv:k1 for kernel k1 (Dockerfile from ConfigMap df)',
    );
    assert.equal(
      describeWork({ ...buildEntry, build: {} } as ModuleBuildSignSpec),
      'build of reg/drv:k1 for kernel k1',
    );
    assert.equal(describeWork(signEntry), 'signing of reg/drv:k1 for kernel k1');
  });
});

describe('keptSuccesses', () => {
  const s = (
    image: string,
    action: BuildSignImageState['action'],
    status: BuildSignImageState['status'],
  ) => ({
    image,
    action,
    status,
  });
  it('keeps successes of work no longer asked for while the MIC lists the image', () => {
    const recorded = [
      s('a', 'BuildImage', 'Success'), // built, now signing: kept
      s('a', 'SignImage', 'Success'), // asked again: the entry reports it itself
      s('b', 'BuildImage', 'Failure'), // failures are not kept
      s('gone', 'BuildImage', 'Success'), // no longer listed
    ];
    const asked: ModuleBuildSignSpec[] = [{ image: 'a', kernelVersion: 'k', action: 'SignImage' }];
    assert.deepEqual(keptSuccesses(recorded, new Set(['a', 'b']), asked), [
      s('a', 'BuildImage', 'Success'),
    ]);
  });
});
