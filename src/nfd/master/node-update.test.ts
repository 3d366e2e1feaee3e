import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  computeNodeUpdate,
  formatNameList,
  formatTaint,
  mergeTaints,
  parseNameList,
  parseTaintList,
  quantityValue,
  sameQuantity,
  type CurrentNodeState,
  type DesiredNodeState,
} from './node-update.js';

const F = 'feature.node.kubernetes.io';
const none: DesiredNodeState = { labels: {}, annotations: {}, extendedResources: {}, taints: [] };

describe('bookkeeping lists', () => {
  it('drops and restores the default namespace, sorted', () => {
    assert.equal(formatNameList([`${F}/b`, 'vendor.io/a', `${F}/a`]), 'a,b,vendor.io/a');
    assert.deepEqual(parseNameList('a,vendor.io/x,'), [`${F}/a`, 'vendor.io/x']);
    assert.deepEqual(parseNameList(undefined), []);
  });
  it('formats and parses taints as Kubernetes does', () => {
    const ts = [
      { key: 'a.io/x', value: 'v', effect: 'NoSchedule' },
      { key: 'b.io/y', effect: 'NoExecute' },
    ];
    assert.equal(ts.map(formatTaint).join(','), 'a.io/x=v:NoSchedule,b.io/y:NoExecute');
    assert.deepEqual(parseTaintList('a.io/x=v:NoSchedule,b.io/y:NoExecute,junk'), ts);
  });
});

describe('quantities', () => {
  const cases: [string, string, boolean][] = [
    ['1', '1', true],
    ['1', '1000m', true],
    ['1500m', '1.5', true],
    ['1Ki', '1024', true],
    ['1k', '1000', true],
    ['1e3', '1k', true],
    ['2', '1', false],
    ['abc', 'abc', true],
    ['abc', '1', false],
  ];
  for (const [a, b, same] of cases) {
    it(`${a} ${same ? '=' : '≠'} ${b}`, () => assert.equal(sameQuantity(a, b), same));
  }
  it('rejects what is not a quantity', () => assert.equal(quantityValue('1x'), undefined));
  it('an absent value differs', () => assert.equal(sameQuantity(undefined, '1'), false));
});

describe('mergeTaints', () => {
  const theirs = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };
  const ours = { key: 'example.com/gpu', value: 'true', effect: 'NoSchedule' };
  it('keeps taints of others in place and removes only ours', () => {
    assert.deepEqual(mergeTaints([theirs, ours], [ours], []), [theirs]);
  });
  it('adds wanted taints and updates their value', () => {
    assert.deepEqual(mergeTaints([theirs], [], [ours]), [theirs, ours]);
    assert.deepEqual(mergeTaints([theirs, ours], [ours], [{ ...ours, value: 'x' }]), [
      theirs,
      { ...ours, value: 'x' },
    ]);
  });
  it('does not remove a taint of others that only shares the key', () => {
    const other = { key: 'example.com/gpu', effect: 'NoExecute' };
    assert.deepEqual(mergeTaints([other, ours], [ours], []), [other]);
  });
});

describe('computeNodeUpdate', () => {
  it('adds labels and records them', () => {
    const u = computeNodeUpdate(
      { labels: { 'kubernetes.io/hostname': 'n1' }, annotations: {} },
      { ...none, labels: { [`${F}/a`]: 'true', 'vendor.io/b': '1' } },
    );
    assert.deepEqual(u.patch, {
      metadata: {
        labels: { [`${F}/a`]: 'true', 'vendor.io/b': '1' },
        annotations: { 'nfd.node.kubernetes.io/feature-labels': 'a,vendor.io/b' },
      },
    });
    assert.equal(u.statusPatch, undefined);
    assert.equal(u.taintsChanged, false);
  });

  it('writes nothing when the node already matches', () => {
    const current: CurrentNodeState = {
      labels: { [`${F}/a`]: 'true', other: 'x' },
      annotations: { 'nfd.node.kubernetes.io/feature-labels': 'a', unrelated: 'y' },
      capacity: { cpu: '4', [`${F}/gpus`]: '2' },
      allocatable: { cpu: '4', [`${F}/gpus`]: '2' },
    };
    current.annotations!['nfd.node.kubernetes.io/extended-resources'] = 'gpus';
    const u = computeNodeUpdate(current, {
      ...none,
      labels: { [`${F}/a`]: 'true' },
      extendedResources: { [`${F}/gpus`]: '2000m' },
    });
    assert.deepEqual(u, { taintsChanged: false });
  });

  it('removes exactly the labels it added, leaving others', () => {
    const u = computeNodeUpdate(
      {
        labels: { [`${F}/a`]: 'true', [`${F}/b`]: 'true', [`${F}/mine-not`]: 'x' },
        annotations: { 'nfd.node.kubernetes.io/feature-labels': 'a,b' },
      },
      { ...none, labels: { [`${F}/a`]: 'true' } },
    );
    assert.deepEqual(u.patch, {
      metadata: {
        labels: { [`${F}/b`]: null },
        annotations: { 'nfd.node.kubernetes.io/feature-labels': 'a' },
      },
    });
  });

  it('removes everything it owns, and its bookkeeping, when nothing is wanted', () => {
    const u = computeNodeUpdate(
      {
        labels: { [`${F}/a`]: 'true' },
        annotations: {
          'nfd.node.kubernetes.io/feature-labels': 'a',
          'nfd.node.kubernetes.io/feature-annotations': 'note',
          [`${F}/note`]: 'hello',
          'nfd.node.kubernetes.io/master.version': 'v0.10',
          'keep.io/x': 'y',
        },
      },
      none,
    );
    assert.deepEqual(u.patch, {
      metadata: {
        labels: { [`${F}/a`]: null },
        annotations: {
          'nfd.node.kubernetes.io/feature-labels': null,
          'nfd.node.kubernetes.io/feature-annotations': null,
          [`${F}/note`]: null,
          'nfd.node.kubernetes.io/master.version': null,
        },
      },
    });
  });

  it('takes over a label it now sets (upstream allowOverwrite)', () => {
    const u = computeNodeUpdate(
      { labels: { 'vendor.io/x': 'old' }, annotations: {} },
      { ...none, labels: { 'vendor.io/x': 'new' } },
    );
    assert.deepEqual(u.patch?.metadata.labels, { 'vendor.io/x': 'new' });
  });

  it('uses instance-prefixed bookkeeping and ignores another instance', () => {
    const u = computeNodeUpdate(
      {
        labels: { [`${F}/theirs`]: 'true' },
        annotations: { 'nfd.node.kubernetes.io/feature-labels': 'theirs' },
      },
      { ...none, labels: { [`${F}/ours`]: 'true' } },
      'net',
    );
    assert.deepEqual(u.patch, {
      metadata: {
        labels: { [`${F}/ours`]: 'true' },
        annotations: { 'net.nfd.node.kubernetes.io/feature-labels': 'ours' },
      },
    });
  });

  it('adds and removes taints, keeping those of others', () => {
    const theirs = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
    const add = computeNodeUpdate(
      { labels: {}, annotations: {}, taints: [theirs] },
      { ...none, taints: [{ key: 'example.com/t', value: 'v', effect: 'NoExecute' }] },
    );
    assert.equal(add.taintsChanged, true);
    assert.deepEqual(add.patch, {
      metadata: { annotations: { 'nfd.node.kubernetes.io/taints': 'example.com/t=v:NoExecute' } },
      spec: { taints: [theirs, { key: 'example.com/t', value: 'v', effect: 'NoExecute' }] },
    });
    const remove = computeNodeUpdate(
      {
        annotations: { 'nfd.node.kubernetes.io/taints': 'example.com/t=v:NoExecute' },
        taints: [theirs, { key: 'example.com/t', value: 'v', effect: 'NoExecute' }],
      },
      none,
    );
    assert.deepEqual(remove.patch, {
      metadata: { annotations: { 'nfd.node.kubernetes.io/taints': null } },
      spec: { taints: [theirs] },
    });
  });

  it('sets and removes extended resources in capacity and allocatable', () => {
    const add = computeNodeUpdate(
      { annotations: {}, capacity: { cpu: '4' } },
      { ...none, extendedResources: { [`${F}/gpus`]: '2' } },
    );
    assert.deepEqual(add.statusPatch, {
      status: { capacity: { [`${F}/gpus`]: '2' }, allocatable: { [`${F}/gpus`]: '2' } },
    });
    assert.deepEqual(add.patch?.metadata.annotations, {
      'nfd.node.kubernetes.io/extended-resources': 'gpus',
    });
    const remove = computeNodeUpdate(
      {
        annotations: { 'nfd.node.kubernetes.io/extended-resources': 'gpus' },
        capacity: { cpu: '4', [`${F}/gpus`]: '2', [`${F}/other`]: '1' },
        allocatable: { [`${F}/gpus`]: '2' },
      },
      none,
    );
    assert.deepEqual(remove.statusPatch, {
      status: { capacity: { [`${F}/gpus`]: null }, allocatable: { [`${F}/gpus`]: null } },
    });
  });
});
