import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyLabelPolicy, DEFAULT_POLICY, type LabelPolicy } from '../eval/index.js';
import {
  compileRules,
  processRules,
  type FeatureMatcherTerm,
  type Features,
  type NodeFeatureRule,
  type Rule,
} from '../rules/index.js';
import { ruleFailureField, sourceOfRejection, type RuleSource } from './provenance.js';

const features: Features = {
  flags: { 'kernel.loadedmodule': { elements: { veth: {} } } },
  attributes: { 'kernel.version': { elements: { major: '5' } } },
  instances: {},
};

const nfr = (name: string, ...rules: Rule[]): NodeFeatureRule => ({
  metadata: { name },
  spec: { rules },
});

const veth: FeatureMatcherTerm[] = [
  { feature: 'kernel.loadedmodule', matchExpressions: { veth: { op: 'Exists' } } },
];

/** Runs the rules and the policy as the master does; traces every refusal. */
function trace(
  objects: NodeFeatureRule[],
  nodeLabels: Record<string, string> = {},
  policy: LabelPolicy = DEFAULT_POLICY,
): (RuleSource | undefined)[] {
  const set = compileRules(objects);
  const p = processRules(set, features);
  const applied = applyLabelPolicy(
    {
      labels: { ...nodeLabels, ...p.labels },
      annotations: p.annotations,
      extendedResources: p.extendedResources,
      taints: p.taints,
    },
    p.features,
    policy,
  );
  return applied.rejected.map((r) => sourceOfRejection(set, features, r));
}

describe('sourceOfRejection', () => {
  const cases: [string, NodeFeatureRule[], Record<string, string>, (RuleSource | undefined)[]][] = [
    [
      'a static label in a denied namespace',
      [
        nfr(
          'b',
          { name: 'ok', labels: { fine: 'true' } },
          { name: 'bad', labels: { 'kubernetes.io/x': 'y' } },
        ),
      ],
      {},
      [{ object: 'b', rule: 'bad', field: 'spec.rules[1].labels["kubernetes.io/x"]' }],
    ],
    [
      'an unprefixed static label with an invalid value (prefixed by the master)',
      [nfr('a', { name: 'dash', labels: { x: 'ends-' }, matchFeatures: veth })],
      {},
      [
        {
          object: 'a',
          rule: 'dash',
          field: 'spec.rules[0].labels["feature.node.kubernetes.io/x"]',
        },
      ],
    ],
    [
      'a label from a template',
      [nfr('t', { name: 'tmpl', labelsTemplate: 'kubernetes.io/t=1', matchFeatures: veth })],
      {},
      [{ object: 't', rule: 'tmpl', field: 'spec.rules[0].labelsTemplate' }],
    ],
    [
      'a label of the NodeFeature object itself',
      [nfr('a', { name: 'ok', labels: { fine: 'true' } })],
      { 'kubernetes.io/own': 'x' },
      [undefined],
    ],
    [
      'the last rule that changed the label, across objects',
      [
        nfr('a', { name: 'first', labels: { 'kubernetes.io/x': 'one' } }),
        nfr('b', { name: 'second', labels: { 'kubernetes.io/x': 'two' } }),
      ],
      {},
      [{ object: 'b', rule: 'second', field: 'spec.rules[0].labels["kubernetes.io/x"]' }],
    ],
    [
      'a rule that only matches through an earlier rule (rule.matched)',
      [
        nfr(
          'a',
          { name: 'gpu', labels: { gpu: 'yes' } },
          {
            name: 'needs gpu',
            labels: { 'kubernetes.io/g': 'x' },
            matchFeatures: [
              { feature: 'rule.matched', matchExpressions: { gpu: { op: 'In', value: ['yes'] } } },
            ],
          },
        ),
      ],
      {},
      [{ object: 'a', rule: 'needs gpu', field: 'spec.rules[1].labels["kubernetes.io/g"]' }],
    ],
    [
      'a rule that does not match refuses nothing',
      [
        nfr('a', {
          name: 'no',
          labels: { 'kubernetes.io/x': 'y' },
          matchFeatures: [
            { feature: 'kernel.loadedmodule', matchExpressions: { nope: { op: 'Exists' } } },
          ],
        }),
      ],
      {},
      [],
    ],
    [
      'an extended resource that is not a quantity',
      [nfr('r', { name: 'res', extendedResources: { units: 'many' } })],
      {},
      [
        {
          object: 'r',
          rule: 'res',
          field: 'spec.rules[0].extendedResources["feature.node.kubernetes.io/units"]',
        },
      ],
    ],
  ];
  for (const [name, objects, nodeLabels, want] of cases) {
    it(name, () => assert.deepEqual(trace(objects, nodeLabels), want));
  }

  it('a taint with an invalid effect (with -enable-taints)', () => {
    const got = trace(
      [
        nfr('t', {
          name: 'taint',
          taints: [{ key: 'example.com/t', value: 'v', effect: 'Never' }],
        }),
      ],
      {},
      { ...DEFAULT_POLICY, enableTaints: true },
    );
    assert.deepEqual(got, [{ object: 't', rule: 'taint', field: 'spec.rules[0].taints[0]' }]);
  });
});

describe('ruleFailureField', () => {
  it('places a rule that does not compile at its index', () => {
    const set = compileRules([
      nfr(
        'a',
        { name: 'ok', labels: { x: 'y' } },
        {
          name: 'broken',
          labels: { x: 'y' },
          matchFeatures: [
            {
              feature: 'kernel.version',
              matchExpressions: { major: { op: 'Gt', value: ['a', 'b'] } },
            },
          ],
        },
      ),
    ]);
    const p = processRules(set, features);
    assert.equal(p.errors.length, 1);
    assert.match(ruleFailureField(set, p.errors[0]!), /^spec\.rules\[1\]\.matchFeatures\[0\]/);
  });

  it('places a rule that fails on a node at its index', () => {
    const set = compileRules([
      nfr('a', {
        name: 'num',
        labels: { x: 'y' },
        matchFeatures: [
          { feature: 'kernel.version', matchExpressions: { major: { op: 'Gt', value: ['1'] } } },
        ],
      }),
    ]);
    const p = processRules(set, {
      ...features,
      attributes: { 'kernel.version': { elements: { major: 'five' } } },
    });
    assert.equal(p.errors.length, 1);
    assert.match(ruleFailureField(set, p.errors[0]!), /^spec\.rules\[0\]\.matchFeatures\[0\]/);
  });

  it('keeps an object-level path as it is', () => {
    const set = compileRules([{ metadata: { name: 'x' }, spec: {} } as unknown as NodeFeatureRule]);
    const p = processRules(set, features);
    assert.equal(ruleFailureField(set, p.errors[0]!), 'spec.rules');
  });
});
