import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findCondition, isConditionTrue, removeCondition, setCondition } from './conditions.js';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T01:00:00Z');

test('a new condition is added with the transition time', () => {
  const r = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Ok' }, t0);
  assert.equal(r.changed, true);
  assert.deepEqual(r.conditions, [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Ok',
      message: '',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    },
  ]);
});

test('same status keeps lastTransitionTime; repeating it changes nothing', () => {
  const a = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Ok' }, t0).conditions;
  const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Ok' }, t1);
  assert.equal(b.changed, false);
  assert.equal(b.conditions[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
  const c = setCondition(a, { type: 'Ready', status: 'True', reason: 'Other', message: 'm' }, t1);
  assert.equal(c.changed, true);
  assert.equal(c.conditions[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
});

test('a status change moves lastTransitionTime and keeps other conditions', () => {
  let cs = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Ok' }, t0).conditions;
  cs = setCondition(cs, { type: 'Degraded', status: 'False', reason: 'Fine' }, t0).conditions;
  const r = setCondition(
    cs,
    { type: 'Ready', status: 'False', reason: 'Broken', observedGeneration: 3 },
    t1,
  );
  assert.equal(r.changed, true);
  assert.equal(findCondition(r.conditions, 'Ready')!.lastTransitionTime, '2026-01-01T01:00:00Z');
  assert.equal(findCondition(r.conditions, 'Ready')!.observedGeneration, 3);
  assert.equal(isConditionTrue(r.conditions, 'Ready'), false);
  assert.equal(findCondition(r.conditions, 'Degraded')!.status, 'False');
  assert.equal(cs.length, 2, 'input not modified');
  assert.equal(findCondition(cs, 'Ready')!.status, 'True');
});

test('observedGeneration alone counts as a change', () => {
  const a = setCondition(
    undefined,
    { type: 'R', status: 'True', reason: 'x', observedGeneration: 1 },
    t0,
  );
  const b = setCondition(
    a.conditions,
    { type: 'R', status: 'True', reason: 'x', observedGeneration: 2 },
    t1,
  );
  assert.equal(b.changed, true);
});

test('removeCondition', () => {
  const a = setCondition(undefined, { type: 'R', status: 'True', reason: 'x' }, t0).conditions;
  assert.deepEqual(removeCondition(a, 'R'), { conditions: [], changed: true });
  assert.deepEqual(removeCondition(a, 'Q').changed, false);
});
