import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trimWorkerPod } from '../common/index.js';
import { WORKER_POD_CASES } from '../../../test/support/worker-pods.js';
import { failureMessage, podConfig } from './pod.js';

test('a cached (trimmed) worker pod gives the same config and failure message', () => {
  for (const { name, pod: full } of WORKER_POD_CASES) {
    const slim = trimWorkerPod(structuredClone(full));
    assert.deepEqual(podConfig(slim), podConfig(full), name);
    if (full.status?.phase === 'Failed') {
      assert.equal(failureMessage(slim), failureMessage(full), name);
    }
  }
});
