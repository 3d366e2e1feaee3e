import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WORKER_POD_CASES } from '../../../test/support/worker-pods.js';
import { trimWorkerPod } from './worker-pod.js';

test('trimWorkerPod keeps what the controllers read and drops the rest', () => {
  for (const { name, pod: full } of WORKER_POD_CASES) {
    const slim = trimWorkerPod(structuredClone(full));
    assert.deepEqual(slim.metadata, full.metadata, name);
    assert.equal(slim.spec.nodeName, 'n1', name);
    assert.equal(slim.spec.containers, undefined, name);
    assert.equal(slim.status?.phase, full.status?.phase, name);
  }
});
