import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RE2JS } from 're2js';
import type { Features } from '../rules/index.js';
import {
  applyLabelPolicy,
  DEFAULT_POLICY,
  isQuantity,
  type LabelPolicy,
  labelValueError,
  qualifiedNameError,
} from './policy.js';

const features: Features = {
  flags: {},
  attributes: {
    'kernel.version': { elements: { major: '5', full: '5.14.0-284.el9' } },
    'rule.matched': { elements: { count: '4' } },
  },
  instances: {},
};

const none = { labels: {}, annotations: {}, extendedResources: {}, taints: [] };

function labels(input: Record<string, string>, policy: LabelPolicy = DEFAULT_POLICY) {
  return applyLabelPolicy({ ...none, labels: input }, features, policy);
}

describe('label policy', () => {
  const cases: [string, string, string | undefined][] = [
    ['feature.node.kubernetes.io/x', 'true', 'true'],
    ['sub.feature.node.kubernetes.io/x', 'true', 'true'],
    ['profile.node.kubernetes.io/x', 'a', 'a'],
    ['sub.profile.node.kubernetes.io/x', 'a', 'a'],
    ['example.com/x', 'a', 'a'],
    ['kubernetes.io/x', 'a', undefined],
    ['node.kubernetes.io/x', 'a', undefined],
    ['evilfeature.node.kubernetes.io/x', 'a', undefined],
    ['unprefixed', 'a', undefined],
    ['example.com/x', 'ends-with-dash-', undefined],
    ['example.com/x', 'has space', undefined],
    ['example.com/x', 'a'.repeat(64), undefined],
    ['example.com/x', '', ''],
    ['Example.com/x', 'a', undefined],
    ['example.com/-x', 'a', undefined],
    ['example.com/x', '@kernel.version.major', '5'],
    ['example.com/x', '@rule.matched.count', '4'],
    ['example.com/x', '@kernel.version.nope', undefined],
    ['example.com/x', '@kernel.nope.major', undefined],
    ['example.com/x', '@kernel.version', undefined],
    ['example.com/x', '@kernel.version.full', '5.14.0-284.el9'],
  ];
  for (const [name, value, want] of cases) {
    it(`${name}=${value.length > 20 ? value.slice(0, 20) + '…' : value} → ${want === undefined ? 'refused' : JSON.stringify(want)}`, () => {
      const r = labels({ [name]: value });
      assert.deepEqual(r.labels, want === undefined ? {} : { [name]: want });
      assert.equal(r.rejected.length, want === undefined ? 1 : 0);
    });
  }

  it('-extra-label-ns allows a reserved namespace, -deny-label-ns refuses one', () => {
    const policy: LabelPolicy = {
      ...DEFAULT_POLICY,
      extraLabelNs: ['vendor.kubernetes.io', 'allowed.example.com'],
      denyLabelNs: ['denied.com', '*.wild.org', 'allowed.example.com'],
    };
    const r = labels(
      {
        'vendor.kubernetes.io/a': '1',
        'denied.com/b': '1',
        'sub.wild.org/c': '1',
        'wild.org/d': '1',
        'allowed.example.com/e': '1',
      },
      policy,
    );
    assert.deepEqual(r.labels, {
      'vendor.kubernetes.io/a': '1',
      'wild.org/d': '1',
      'allowed.example.com/e': '1',
    });
  });

  it('-label-whitelist matches the name after the prefix', () => {
    const r = labels(
      {
        'feature.node.kubernetes.io/cpu-model': 'x',
        'feature.node.kubernetes.io/pci-present': 'x',
      },
      { ...DEFAULT_POLICY, labelWhiteList: RE2JS.compile('^cpu-') },
    );
    assert.deepEqual(Object.keys(r.labels), ['feature.node.kubernetes.io/cpu-model']);
  });

  it('annotations: feature.node.kubernetes.io only among kubernetes.io, 1024 characters at most, no dynamic values', () => {
    const r = applyLabelPolicy(
      {
        ...none,
        annotations: {
          'feature.node.kubernetes.io/a': '@kernel.version.major',
          'x.feature.node.kubernetes.io/b': 'v',
          'profile.node.kubernetes.io/c': 'v',
          'example.com/d': 'x'.repeat(1024),
          'example.com/e': 'x'.repeat(1025),
          plain: 'v',
        },
      },
      features,
    );
    assert.deepEqual(Object.keys(r.annotations).sort(), [
      'example.com/d',
      'feature.node.kubernetes.io/a',
      'x.feature.node.kubernetes.io/b',
    ]);
    assert.equal(r.annotations['feature.node.kubernetes.io/a'], '@kernel.version.major');
  });

  it('extended resources: quantities, dynamic values, namespaces', () => {
    const r = applyLabelPolicy(
      {
        ...none,
        extendedResources: {
          'feature.node.kubernetes.io/a': '@kernel.version.major',
          'example.com/b': '2Gi',
          'example.com/c': 'lots',
          'kubernetes.io/d': '1',
          'example.com/e': '@kernel.version.full',
          e: '1',
        },
      },
      features,
    );
    assert.deepEqual(r.extendedResources, {
      'feature.node.kubernetes.io/a': '5',
      'example.com/b': '2Gi',
    });
    assert.deepEqual(r.rejected.map((x) => x.name).sort(), [
      'e',
      'example.com/c',
      'example.com/e',
      'kubernetes.io/d',
    ]);
  });

  it('taints only with -enable-taints; validated; one per key and effect, the last value wins', () => {
    const taints = [
      { key: 'example.com/gpu', value: 'a', effect: 'NoSchedule' },
      { key: 'example.com/gpu', value: 'b', effect: 'NoExecute' },
      { key: 'example.com/gpu', value: 'c', effect: 'NoSchedule' },
      { key: 'example.com/bad', effect: 'Sometimes' },
      { key: 'example.com/none', effect: '' },
      { key: 'node.kubernetes.io/x', effect: 'NoSchedule' },
      { key: 'feature.node.kubernetes.io/y', effect: 'PreferNoSchedule' },
      { key: 'unprefixed', effect: 'NoSchedule' },
    ];
    assert.deepEqual(applyLabelPolicy({ ...none, taints }, features).taints, []);
    const r = applyLabelPolicy({ ...none, taints }, features, {
      ...DEFAULT_POLICY,
      enableTaints: true,
    });
    assert.deepEqual(r.taints, [
      { key: 'example.com/gpu', value: 'c', effect: 'NoSchedule' },
      { key: 'example.com/gpu', value: 'b', effect: 'NoExecute' },
      { key: 'feature.node.kubernetes.io/y', effect: 'PreferNoSchedule' },
    ]);
    assert.equal(r.rejected.length, 4);
  });
});

describe('name and value syntax', () => {
  it('qualified names', () => {
    for (const ok of ['a', 'a.b-c_d', 'example.com/x', 'a/b', 'x'.repeat(63)])
      assert.equal(qualifiedNameError(ok), undefined, ok);
    for (const bad of ['', '/x', 'a/b/c', 'x'.repeat(64), 'A_.com/x', '-a', 'a-', 'example.com/']) {
      assert.notEqual(qualifiedNameError(bad), undefined, bad);
    }
  });
  it('label values', () => {
    for (const ok of ['', 'a', '5.14.0-284', 'A_b'])
      assert.equal(labelValueError(ok), undefined, ok);
    for (const bad of ['-a', 'a-', 'a b', 'x'.repeat(64), 'a/b'])
      assert.notEqual(labelValueError(bad), undefined, bad);
  });
  it('quantities', () => {
    for (const ok of ['1', '0', '1.5', '.5', '100m', '2Gi', '1e3', '+3', '5k'])
      assert.ok(isQuantity(ok), ok);
    for (const bad of ['', 'lots', '1GB', '1 ', 'Gi', '1.2.3']) assert.ok(!isQuantity(bad), bad);
  });
});
