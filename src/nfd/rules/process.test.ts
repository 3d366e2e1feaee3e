import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addDefaultNamespace, compileRules, processRules } from './process.js';
import type { Features, NodeFeatureRule, Rule } from './types.js';

const features = (): Features => ({
  flags: { 'kernel.loadedmodule': { elements: { veth: {} } } },
  attributes: { 'cpu.model': { elements: { vendor_id: 'Intel' } } },
  instances: {},
});

const nfr = (name: string, ...rules: Rule[]): NodeFeatureRule => ({
  metadata: { name },
  spec: { rules },
});

const always = (name: string, extra: Omit<Rule, 'name'>): Rule => ({ name, ...extra });

describe('processRules', () => {
  it('applies objects by name, then rules in list order; later labels win', () => {
    const r = processRules(
      [
        nfr(
          'b',
          always('b1', { labels: { x: 'b1' } }),
          always('b2', { labels: { x: 'b2', y: 'b2' } }),
        ),
        nfr('a', always('a1', { labels: { x: 'a1', z: 'a1' } })),
      ],
      features(),
    );
    assert.deepEqual(r.labels, {
      'feature.node.kubernetes.io/x': 'b2',
      'feature.node.kubernetes.io/y': 'b2',
      'feature.node.kubernetes.io/z': 'a1',
    });
    assert.deepEqual(r.errors, []);
  });

  it('orders object names bytewise, as Go does (upper case before lower case)', () => {
    const r = processRules(
      [
        nfr('a', always('lower', { labels: { k: 'a' } })),
        nfr('Z', always('upper', { labels: { k: 'Z' } })),
      ],
      features(),
    );
    assert.equal(r.labels['feature.node.kubernetes.io/k'], 'a');
  });

  it('feeds labels and vars of each rule to later rules as rule.matched; vars win', () => {
    const r = processRules(
      [
        nfr(
          'one',
          always('first', {
            labels: { gpu: 'yes', both: 'label' },
            vars: { secret: 'v', both: 'var' },
          }),
          always('second', {
            labels: { saw: 'all' },
            matchFeatures: [
              {
                feature: 'rule.matched',
                matchExpressions: {
                  gpu: { op: 'In', value: ['yes'] },
                  secret: { op: 'Exists' },
                  both: { op: 'In', value: ['var'] },
                },
              },
            ],
          }),
        ),
      ],
      features(),
    );
    assert.deepEqual(r.labels, {
      'feature.node.kubernetes.io/gpu': 'yes',
      'feature.node.kubernetes.io/both': 'label',
      'feature.node.kubernetes.io/saw': 'all',
    });
    assert.deepEqual(r.features.attributes['rule.matched']?.elements, {
      gpu: 'yes',
      both: 'var',
      secret: 'v',
      saw: 'all',
    });
  });

  it('a rule that ran without matching still creates rule.matched', () => {
    const probe = always('probe', {
      labels: { seen: 'true' },
      matchFeatures: [
        { feature: 'rule.matched', matchExpressions: { nothing: { op: 'DoesNotExist' } } },
      ],
    });
    const miss = always('miss', { labels: { m: '1' }, matchFeatures: [{ feature: 'no.such' }] });
    assert.deepEqual(processRules([nfr('x', probe)], features()).labels, {});
    assert.deepEqual(processRules([nfr('x', miss, probe)], features()).labels, {
      'feature.node.kubernetes.io/seen': 'true',
    });
  });

  it('a failing rule fails alone: reported, skipped, no rule.matched entry; the others apply', () => {
    const r = processRules(
      [
        nfr(
          'mixed',
          always('bad-regex', {
            labels: { bad: '1' },
            matchFeatures: [
              {
                feature: 'cpu.model',
                matchExpressions: { vendor_id: { op: 'InRegexp', value: ['('] } },
              },
            ],
          }),
          always('bad-eval', {
            labels: { bad: '2' },
            matchFeatures: [
              { feature: 'cpu.model', matchExpressions: { vendor_id: { op: 'Gt', value: ['1'] } } },
            ],
          }),
          always('good', { labels: { good: 'yes' } }),
        ),
        { metadata: { name: 'broken' }, spec: {} } as unknown as NodeFeatureRule,
      ],
      features(),
    );
    assert.deepEqual(r.labels, { 'feature.node.kubernetes.io/good': 'yes' });
    assert.deepEqual(
      r.errors.map((e) => [e.object, e.rule, e.error.kind, e.error.field]),
      [
        ['broken', '', 'InvalidRule', 'spec.rules'],
        [
          'mixed',
          'bad-regex',
          'InvalidRule',
          'matchFeatures[0].matchExpressions.vendor_id.value[0]',
        ],
        ['mixed', 'bad-eval', 'EvaluationFailed', 'matchFeatures[0].matchExpressions.vendor_id'],
      ],
    );
    assert.match(r.errors[2]!.error.message, /rule "bad-eval".*"Intel" is not an integer/);
    assert.deepEqual(r.features.attributes['rule.matched']?.elements, { good: 'yes' });
  });

  it('prefixes names rule by rule: a prefixed name beats its unprefixed twin in one rule', () => {
    const r = processRules(
      [
        nfr(
          'p',
          always('both', {
            labels: { dup: 'short', 'feature.node.kubernetes.io/dup': 'long' },
            annotations: { a: '1' },
            extendedResources: { res: '2', 'vendor.com/res': '3' },
          }),
          always('later', { labels: { 'feature.node.kubernetes.io/x': 'first' } }),
          always('later2', { labels: { x: 'second' } }),
        ),
      ],
      features(),
    );
    assert.deepEqual(r.labels, {
      'feature.node.kubernetes.io/dup': 'long',
      'feature.node.kubernetes.io/x': 'second',
    });
    assert.deepEqual(r.annotations, { 'feature.node.kubernetes.io/a': '1' });
    assert.deepEqual(r.extendedResources, {
      'feature.node.kubernetes.io/res': '2',
      'vendor.com/res': '3',
    });
    // rule.matched holds the names as the rule wrote them.
    assert.equal(r.features.attributes['rule.matched']?.elements['dup'], 'short');
  });

  it('collects taints in rule order', () => {
    const r = processRules(
      [
        nfr('b', always('t2', { taints: [{ key: 'k/two', effect: 'NoExecute' }] })),
        nfr('a', always('t1', { taints: [{ key: 'k/one', value: 'v', effect: 'NoSchedule' }] })),
      ],
      features(),
    );
    assert.deepEqual(r.taints, [
      { key: 'k/one', value: 'v', effect: 'NoSchedule' },
      { key: 'k/two', effect: 'NoExecute' },
    ]);
  });

  it('without autoDefaultNs names stay as written', () => {
    const r = processRules([nfr('a', always('r', { labels: { x: '1' } }))], features(), {
      autoDefaultNs: false,
    });
    assert.deepEqual(r.labels, { x: '1' });
  });

  it('never modifies the input features, also when they carry rule.matched', () => {
    const input = features();
    input.attributes['rule.matched'] = { elements: { old: '1' } };
    const snapshot = JSON.stringify(input);
    const r = processRules([nfr('a', always('r', { labels: { x: '1' } }))], input);
    assert.equal(JSON.stringify(input), snapshot);
    assert.deepEqual(r.features.attributes['rule.matched']?.elements, { old: '1', x: '1' });
  });

  it('a compiled rule set gives the same result on many nodes as raw objects', () => {
    const objs = [
      nfr(
        'n',
        always('intel', {
          labelsTemplate: '{{ range .cpu.model }}cpu-{{ .Value }}=true\n{{ end }}',
          matchFeatures: [
            {
              feature: 'cpu.model',
              matchExpressions: { vendor_id: { op: 'InRegexp', value: ['^(Intel|AMD)$'] } },
            },
          ],
        }),
      ),
    ];
    const set = compileRules(objs);
    for (const vendor of ['Intel', 'AMD', 'Other', 'Intel']) {
      const f = features();
      f.attributes['cpu.model'] = { elements: { vendor_id: vendor } };
      assert.deepEqual(processRules(set, f), processRules(objs, f));
      assert.equal(
        processRules(set, f).labels[`feature.node.kubernetes.io/cpu-${vendor}`],
        vendor === 'Other' ? undefined : 'true',
      );
    }
  });
});

describe('addDefaultNamespace', () => {
  it('prefixes unprefixed names and lets the prefixed twin win', () => {
    assert.deepEqual(
      addDefaultNamespace({ a: '1', 'x.io/b': '2', c: '3', 'feature.node.kubernetes.io/c': '4' }),
      {
        'feature.node.kubernetes.io/a': '1',
        'x.io/b': '2',
        'feature.node.kubernetes.io/c': '4',
      },
    );
  });
});

describe('partial features', () => {
  it('tolerates feature objects that omit flags, attributes or instances', () => {
    const r = processRules(
      [
        nfr(
          'p',
          always('needs-flags', {
            labels: { a: '1' },
            matchFeatures: [{ feature: 'kernel.loadedmodule' }],
          }),
          always('always', { labels: { b: '1' } }),
        ),
      ],
      { attributes: {} },
    );
    assert.deepEqual(r.labels, { 'feature.node.kubernetes.io/b': '1' });
    assert.deepEqual(r.errors, []);
  });
});

describe('rule warnings', () => {
  it('are returned per object and rule, and the rule still applies where not reached', () => {
    const warned: Rule = {
      name: 'w',
      labels: { w: 'true' },
      matchAny: [
        { matchFeatures: [{ feature: 'a.b', matchExpressions: { x: { op: 'Exists' } } }] },
        {
          matchFeatures: [
            { feature: 'a.b', matchExpressions: { x: { op: 'Gt' } as unknown as never } },
          ],
        },
      ],
    };
    const set = compileRules([nfr('obj', warned)]);
    assert.deepEqual(set.warnings, [
      {
        object: 'obj',
        rule: 'w',
        field: 'matchAny[1].matchFeatures[0].matchExpressions.x.value',
        detail: 'must have exactly one element for op Gt (have [])',
      },
    ]);
    const f: Partial<Features> = { attributes: { 'a.b': { elements: { x: '1' } } } };
    const out = processRules(set, f);
    assert.deepEqual(out.errors, []);
    assert.equal(out.labels['feature.node.kubernetes.io/w'], 'true');
  });
});
