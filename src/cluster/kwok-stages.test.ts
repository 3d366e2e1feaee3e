import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasNodeStage, NODE_STAGES } from './kwok-stages.js';

describe('kwok node stages', () => {
  it('hwe supplies a Ready stage and a slow heartbeat', () => {
    assert.ok(hasNodeStage(NODE_STAGES));
    assert.match(NODE_STAGES, /name: hwe-node-ready/);
    assert.match(NODE_STAGES, /name: hwe-node-heartbeat[\s\S]*durationMilliseconds: 300000/);
  });

  it('tells Node stages from Pod stages', () => {
    const pod = 'kind: Stage\nspec:\n  resourceRef:\n    apiGroup: v1\n    kind: Pod\n';
    assert.equal(hasNodeStage(pod), false);
    assert.equal(hasNodeStage(pod.replace('Pod', 'Node')), true);
  });
});
