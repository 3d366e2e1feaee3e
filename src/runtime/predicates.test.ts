import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  and,
  generationChanged,
  hasLabels,
  labelsChanged,
  nodeChangedBeyondHeartbeat,
  or,
  type NodeLike,
} from './predicates.js';

function node(p: {
  labels?: Record<string, string>;
  heartbeat?: string;
  ready?: string;
  kernel?: string;
  bootID?: string;
  taints?: unknown[];
  rv?: string;
  images?: string[];
  deleting?: boolean;
}): NodeLike {
  return {
    metadata: {
      name: 'n1',
      resourceVersion: p.rv ?? '1',
      labels: p.labels ?? { a: '1' },
      ...(p.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: { taints: p.taints ?? [] },
    status: {
      nodeInfo: { kernelVersion: p.kernel ?? '5.14', bootID: p.bootID ?? 'b1' },
      conditions: [
        { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: p.heartbeat ?? 't0' },
        {
          type: 'Ready',
          status: p.ready ?? 'True',
          reason: 'KubeletReady',
          lastHeartbeatTime: p.heartbeat ?? 't0',
        },
      ] as unknown as NonNullable<NodeLike['status']>['conditions'],
      images: p.images ?? [],
    } as NodeLike['status'],
  };
}

const heartbeatCases: { name: string; old: NodeLike; new: NodeLike; pass: boolean }[] = [
  { name: 'heartbeat only', old: node({}), new: node({ heartbeat: 't1', rv: '2' }), pass: false },
  { name: 'images only', old: node({}), new: node({ images: ['x'], rv: '2' }), pass: false },
  { name: 'label added', old: node({}), new: node({ labels: { a: '1', b: '2' } }), pass: true },
  { name: 'kernel changed', old: node({}), new: node({ kernel: '6.1' }), pass: true },
  { name: 'reboot (bootID)', old: node({}), new: node({ bootID: 'b2' }), pass: true },
  {
    name: 'taint added',
    old: node({}),
    new: node({ taints: [{ key: 'k', effect: 'NoSchedule' }] }),
    pass: true,
  },
  {
    name: 'became NotReady',
    old: node({}),
    new: node({ ready: 'False', heartbeat: 't1' }),
    pass: true,
  },
  { name: 'deletion started', old: node({}), new: node({ deleting: true }), pass: true },
];

for (const c of heartbeatCases) {
  test(`nodeChangedBeyondHeartbeat: ${c.name}`, () => {
    assert.equal(nodeChangedBeyondHeartbeat.update!(c.old, c.new), c.pass);
  });
}

test('generationChanged and labelsChanged', () => {
  const a = { metadata: { name: 'x', generation: 1, labels: { a: '1' } } };
  const b = { metadata: { name: 'x', generation: 2, labels: { a: '1' } } };
  const c = { metadata: { name: 'x', generation: 1, labels: { a: '2' } } };
  assert.equal(generationChanged.update!(a, b), true);
  assert.equal(generationChanged.update!(a, c), false);
  assert.equal(labelsChanged.update!(a, c), true);
  assert.equal(labelsChanged.update!(a, b), false);
});

test('and / or / hasLabels', () => {
  const o = { metadata: { name: 'x', labels: { app: 'hwe' } } };
  const other = { metadata: { name: 'y', labels: { app: 'no' } } };
  const p = hasLabels({ app: 'hwe' });
  assert.equal(p.create!(o), true);
  assert.equal(p.create!(other), false);
  assert.equal(and(p, labelsChanged).update(o, o), false);
  assert.equal(or(p, labelsChanged).update(o, o), true);
  assert.equal(and(p, labelsChanged).create(o), true, 'a predicate without create lets it pass');
});
