import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RuleError } from './errors.js';
import { compileRule, executeRule } from './rule.js';
import type { FeatureMatcherTerm, Features, MatchExpression, Rule } from './types.js';

const features: Features = {
  flags: {
    'kernel.loadedmodule': { elements: { veth: {}, e1000e: {}, ib_uverbs: {} } },
    'cpu.cpuid': { elements: { AVX2: {}, AVX512F: {}, SSE4: {} } },
    'multi.feat': { elements: { flagonly: {} } },
  },
  attributes: {
    'kernel.version': {
      elements: { full: '5.14.0-284.30.1.el9_2.x86_64', major: '5', minor: '14' },
    },
    'kernel.config': { elements: { NO_HZ: 'y', PREEMPT: 'n' } },
    'cpu.model': { elements: { vendor_id: 'Intel', family: '6' } },
    'multi.feat': { elements: { attronly: 'v' } },
    'system.osrelease': { elements: { ID: 'rhcos', VERSION_ID: '4.12' } },
  },
  instances: {
    'pci.device': {
      elements: [
        { attributes: { vendor: '8086', class: '0200', device: '1521' } },
        { attributes: { vendor: '10de', class: '0300', device: '20b0', sriov_totalvfs: '16' } },
      ],
    },
    'usb.device': { elements: [] },
  },
};

const term = (
  feature: string,
  matchExpressions: Record<string, MatchExpression>,
): FeatureMatcherTerm => ({ feature, matchExpressions });

/** [name, rule fields (name added), matched?] */
const matching: [string, Omit<Rule, 'name'>, boolean][] = [
  ['a rule without matchers always matches', {}, true],
  [
    'the seed example: veth loaded and an 8086 PCI device',
    {
      matchFeatures: [
        term('kernel.loadedmodule', { veth: { op: 'Exists' } }),
        term('pci.device', { vendor: { op: 'In', value: ['8086'] } }),
      ],
    },
    true,
  ],
  [
    'the seed example fails without veth',
    {
      matchFeatures: [
        term('kernel.loadedmodule', { vethx: { op: 'Exists' } }),
        term('pci.device', { vendor: { op: 'In', value: ['8086'] } }),
      ],
    },
    false,
  ],
  [
    'a missing feature fails the term, even DoesNotExist',
    { matchFeatures: [term('no.such', { x: { op: 'DoesNotExist' } })] },
    false,
  ],
  [
    'a missing key fails NotIn',
    { matchFeatures: [term('cpu.model', { nokey: { op: 'NotIn', value: ['x'] } })] },
    false,
  ],
  [
    'a missing key passes DoesNotExist',
    { matchFeatures: [term('cpu.model', { nokey: { op: 'DoesNotExist' } })] },
    true,
  ],
  [
    'flags: DoesNotExist on a present flag',
    { matchFeatures: [term('cpu.cpuid', { AVX2: { op: 'DoesNotExist' } })] },
    false,
  ],
  [
    'flags: In never matches a flag',
    { matchFeatures: [term('cpu.cpuid', { AVX2: { op: 'In', value: ['AVX2'] } })] },
    false,
  ],
  [
    'attributes: In',
    { matchFeatures: [term('cpu.model', { vendor_id: { op: 'In', value: ['Intel', 'AMD'] } })] },
    true,
  ],
  [
    'attributes: every expression must hold',
    {
      matchFeatures: [
        term('cpu.model', {
          vendor_id: { op: 'In', value: ['Intel'] },
          family: { op: 'Gt', value: ['6'] },
        }),
      ],
    },
    false,
  ],
  [
    'attributes: version compare on the kernel',
    {
      matchFeatures: [
        term('kernel.version', { full: { op: 'Ge', value: ['5.9'], type: 'version' } }),
      ],
    },
    true,
  ],
  [
    'attributes: IsTrue is literal',
    { matchFeatures: [term('kernel.config', { NO_HZ: { op: 'IsTrue' } })] },
    false,
  ],
  [
    'instances: expressions hold on the same instance',
    {
      matchFeatures: [
        term('pci.device', {
          vendor: { op: 'In', value: ['8086'] },
          class: { op: 'In', value: ['0300'] },
        }),
      ],
    },
    false,
  ],
  [
    'instances: one instance holds all',
    {
      matchFeatures: [
        term('pci.device', {
          vendor: { op: 'In', value: ['10de'] },
          class: { op: 'In', value: ['0300'] },
        }),
      ],
    },
    true,
  ],
  [
    'instances: key present on one instance only',
    { matchFeatures: [term('pci.device', { sriov_totalvfs: { op: 'Gt', value: ['8'] } })] },
    true,
  ],
  [
    'instances: empty expressions match when an instance exists',
    { matchFeatures: [term('pci.device', {})] },
    true,
  ],
  [
    'instances: empty expressions fail on no instances',
    { matchFeatures: [term('usb.device', {})] },
    false,
  ],
  [
    'a term with only a feature matches when it exists',
    { matchFeatures: [{ feature: 'usb.device' }] },
    true,
  ],
  [
    'feature names are case-insensitive',
    { matchFeatures: [term('Kernel.LoadedModule', { veth: { op: 'Exists' } })] },
    true,
  ],
  [
    'a feature with flags and attributes: either may match',
    {
      matchFeatures: [
        term('multi.feat', { flagonly: { op: 'Exists' }, attronly: { op: 'In', value: ['v'] } }),
      ],
    },
    true,
  ],
  [
    'a feature with flags and attributes: DoesNotExist must hold in both',
    { matchFeatures: [term('multi.feat', { flagonly: { op: 'DoesNotExist' } })] },
    false,
  ],
  [
    'matchName on flags',
    {
      matchFeatures: [{ feature: 'cpu.cpuid', matchName: { op: 'InRegexp', value: ['^AVX512'] } }],
    },
    true,
  ],
  [
    'matchName with no match',
    { matchFeatures: [{ feature: 'cpu.cpuid', matchName: { op: 'In', value: ['AMX'] } }] },
    false,
  ],
  [
    'matchName on attribute names',
    { matchFeatures: [{ feature: 'kernel.config', matchName: { op: 'In', value: ['PREEMPT'] } }] },
    true,
  ],
  [
    'matchName on instance attribute names',
    {
      matchFeatures: [
        { feature: 'pci.device', matchName: { op: 'In', value: ['sriov_totalvfs'] } },
      ],
    },
    true,
  ],
  [
    'matchName and expressions must both hold',
    {
      matchFeatures: [
        {
          feature: 'cpu.cpuid',
          matchName: { op: 'In', value: ['AVX2'] },
          matchExpressions: { SSE9: { op: 'Exists' } },
        },
      ],
    },
    false,
  ],
  [
    'matchAny: one element suffices',
    {
      matchAny: [
        { matchFeatures: [term('no.such', {})] },
        { matchFeatures: [term('kernel.loadedmodule', { veth: { op: 'Exists' } })] },
      ],
    },
    true,
  ],
  [
    'matchAny: none matches',
    {
      matchAny: [
        { matchFeatures: [term('no.such', {})] },
        { matchFeatures: [term('kernel.loadedmodule', { nope: { op: 'Exists' } })] },
      ],
    },
    false,
  ],
  [
    'matchAny and matchFeatures are ANDed',
    {
      matchAny: [{ matchFeatures: [term('kernel.loadedmodule', { veth: { op: 'Exists' } })] }],
      matchFeatures: [term('cpu.model', { vendor_id: { op: 'In', value: ['AMD'] } })],
    },
    false,
  ],
  [
    'rule.matched from earlier rules is an ordinary attribute feature',
    { matchFeatures: [term('rule.matched', { x: { op: 'Exists' } })] },
    false,
  ],
];

describe('rule matching', () => {
  for (const [name, fields, want] of matching) {
    it(name, () => {
      const out = executeRule({ name, labels: { hit: 'true' }, ...fields }, features);
      assert.equal(out.matched, want);
      assert.deepEqual(out.labels, want ? { hit: 'true' } : {});
    });
  }
});

describe('rule outputs', () => {
  it('copies annotations, extended resources, taints and vars of a matching rule', () => {
    const rule: Rule = {
      name: 'outputs',
      annotations: { note: 'x' },
      extendedResources: { widgets: '@kernel.version.major' },
      taints: [{ key: 'example.com/gpu', value: 'yes', effect: 'NoSchedule' }],
      vars: { v: '1' },
    };
    const out = executeRule(rule, features);
    assert.deepEqual(out, {
      matched: true,
      labels: {},
      annotations: { note: 'x' },
      extendedResources: { widgets: '@kernel.version.major' },
      taints: [{ key: 'example.com/gpu', value: 'yes', effect: 'NoSchedule' }],
      vars: { v: '1' },
    });
    out.taints[0]!.value = 'changed';
    assert.equal(executeRule(rule, features).taints[0]!.value, 'yes');
  });

  it('expands labelsTemplate and varsTemplate over the matched elements', () => {
    const out = executeRule(
      {
        name: 'tmpl',
        labelsTemplate:
          '{{ range .pci.device }}pci-{{ .vendor }}.present=true\n{{ end }}{{ range .cpu.cpuid }}cpu-{{ .Name }}=true\n{{ end }}',
        varsTemplate: '{{ range .kernel.version }}{{ .Name }}={{ .Value }}\n{{ end }}',
        matchFeatures: [
          term('pci.device', { class: { op: 'InRegexp', value: ['^0[23]'] } }),
          { feature: 'cpu.cpuid', matchName: { op: 'InRegexp', value: ['^AVX'] } },
          term('kernel.version', { major: { op: 'Exists' }, minor: { op: 'Exists' } }),
        ],
      },
      features,
    );
    assert.deepEqual(out.labels, {
      'pci-8086.present': 'true',
      'pci-10de.present': 'true',
      'cpu-AVX2': 'true',
      'cpu-AVX512F': 'true',
    });
    assert.deepEqual(out.vars, { major: '5', minor: '14' });
  });

  it('static labels and vars override template output', () => {
    const out = executeRule(
      {
        name: 's',
        labelsTemplate: 'a=from-template\nb=t',
        labels: { a: 'static' },
        varsTemplate: 'v=t',
        vars: { v: 's' },
        matchFeatures: [term('cpu.model', {})],
      },
      features,
    );
    assert.deepEqual(out.labels, { a: 'static', b: 't' });
    assert.deepEqual(out.vars, { v: 's' });
  });

  it('templates keep the spelling of the feature name', () => {
    const out = executeRule(
      {
        name: 'case',
        labelsTemplate: '{{ range .CPU.Model }}{{ .Name }}={{ .Value }}\n{{ end }}',
        matchFeatures: [term('CPU.Model', { vendor_id: { op: 'Exists' } })],
      },
      features,
    );
    assert.deepEqual(out.labels, { vendor_id: 'Intel' });
  });

  it('matchAny with a template collects every matching element', () => {
    const out = executeRule(
      {
        name: 'any',
        labelsTemplate: '{{ range .kernel.loadedmodule }}mod-{{ .Name }}=1\n{{ end }}',
        matchAny: [
          { matchFeatures: [term('kernel.loadedmodule', { veth: { op: 'Exists' } })] },
          { matchFeatures: [term('kernel.loadedmodule', { nope: { op: 'Exists' } })] },
          { matchFeatures: [term('kernel.loadedmodule', { e1000e: { op: 'Exists' } })] },
        ],
      },
      features,
    );
    assert.deepEqual(out.labels, { 'mod-veth': '1', 'mod-e1000e': '1' });
  });

  it('matchAny without templates stops at the first match, so later errors do not count', () => {
    const out = executeRule(
      {
        name: 'short',
        labels: { ok: 'true' },
        matchAny: [
          { matchFeatures: [term('cpu.model', { vendor_id: { op: 'Exists' } })] },
          { matchFeatures: [term('cpu.model', { vendor_id: { op: 'Gt', value: ['1'] } })] },
        ],
      },
      features,
    );
    assert.deepEqual(out.labels, { ok: 'true' });
  });

  it('matchAny with templates evaluates later elements, so their errors fail the rule', () => {
    assert.throws(
      () =>
        executeRule(
          {
            name: 'later-error',
            labelsTemplate: 'x=1',
            matchAny: [
              { matchFeatures: [term('cpu.model', { vendor_id: { op: 'Exists' } })] },
              { matchFeatures: [term('cpu.model', { vendor_id: { op: 'Gt', value: ['1'] } })] },
            ],
          },
          features,
        ),
      (e: unknown) =>
        e instanceof RuleError &&
        e.kind === 'EvaluationFailed' &&
        e.field === 'matchAny[1].matchFeatures[0].matchExpressions.vendor_id',
    );
  });
});

describe('rule errors', () => {
  const errors: [string, unknown, string, RuleError['kind']][] = [
    [
      'Gt over a non-integer feature value',
      { name: 'r', matchFeatures: [term('kernel.version', { full: { op: 'Gt', value: ['5'] } })] },
      'matchFeatures[0].matchExpressions.full',
      'EvaluationFailed',
    ],
    [
      'InRegexp with a bad regex',
      {
        name: 'r',
        matchFeatures: [term('cpu.model', { vendor_id: { op: 'InRegexp', value: ['[a-'] } })],
      },
      'matchFeatures[0].matchExpressions.vendor_id.value[0]',
      'InvalidRule',
    ],
    [
      'a bad operator inside matchAny',
      {
        name: 'r',
        matchAny: [
          {
            matchFeatures: [
              term('cpu.model', { x: { op: 'Maybe' } as unknown as MatchExpression }),
            ],
          },
        ],
      },
      'matchAny[0].matchFeatures[0].matchExpressions.x.op',
      'InvalidRule',
    ],
    [
      'a template that does not parse, on a node where the rule matches',
      { name: 'r', labelsTemplate: '{{ if }}', matchFeatures: [term('cpu.model', {})] },
      'labelsTemplate',
      'InvalidRule',
    ],
    [
      'a template reading a missing key',
      {
        name: 'r',
        labelsTemplate: '{{ range .cpu.model }}{{ .Nope }}{{ end }}',
        matchFeatures: [term('cpu.model', { vendor_id: { op: 'Exists' } })],
      },
      'labelsTemplate',
      'EvaluationFailed',
    ],
    [
      'a template printing a line without =',
      { name: 'r', varsTemplate: 'novalue', matchFeatures: [term('cpu.model', {})] },
      'varsTemplate',
      'EvaluationFailed',
    ],
    [
      'a label value that is not a string',
      { name: 'r', labels: { a: 1 } },
      'labels.a',
      'InvalidRule',
    ],
    [
      'a taint without a key',
      { name: 'r', taints: [{ effect: 'NoSchedule' }] },
      'taints[0].key',
      'InvalidRule',
    ],
    [
      'a term without a feature',
      { name: 'r', matchFeatures: [{ matchExpressions: {} }] },
      'matchFeatures[0].feature',
      'InvalidRule',
    ],
    [
      'matchFeatures that is not a list',
      { name: 'r', matchFeatures: { feature: 'x' } },
      'matchFeatures',
      'InvalidRule',
    ],
    ['a rule without a name', { labels: { a: 'b' } }, 'name', 'InvalidRule'],
  ];
  for (const [what, rule, field, kind] of errors) {
    it(`${what} fails with a RuleError naming ${field}`, () => {
      assert.throws(
        () => executeRule(rule as Rule, features),
        (e: unknown) =>
          e instanceof RuleError &&
          e.field === field &&
          e.kind === kind &&
          e.message.includes(field),
      );
    });
  }

  it('every instance is evaluated: a bad value after a matching instance still fails the rule', () => {
    const f: Features = {
      flags: {},
      attributes: {},
      instances: {
        'pci.device': {
          elements: [{ attributes: { vfs: '8' } }, { attributes: { vfs: 'many' } }],
        },
      },
    };
    const rule: Rule = {
      name: 'vfs',
      labels: { sriov: 'true' },
      matchFeatures: [term('pci.device', { vfs: { op: 'Gt', value: ['4'] } })],
    };
    assert.throws(
      () => executeRule(rule, f),
      (e: unknown) => e instanceof RuleError && /"many" is not an integer/.test(e.message),
    );
    f.instances['pci.device']!.elements[1]!.attributes['vfs'] = '2';
    assert.equal(executeRule(rule, f).matched, true);
  });

  it('a taint effect that is not a string is refused naming the effects', () => {
    assert.throws(
      () => compileRule({ name: 'r', taints: [{ key: 'k', effect: 1 }] }),
      (e: unknown) =>
        e instanceof RuleError &&
        e.kind === 'InvalidRule' &&
        e.field === 'taints[0].effect' &&
        /use one of NoSchedule, PreferNoSchedule, NoExecute/.test(e.detail),
    );
  });

  it('a missing key never reaches the value check (no error, no match)', () => {
    const out = executeRule(
      {
        name: 'r',
        labels: { a: 'b' },
        matchFeatures: [term('cpu.model', { nokey: { op: 'Gt', value: ['1'] } })],
      },
      features,
    );
    assert.equal(out.matched, false);
  });
});

/**
 * Upstream checks an expression only when evaluation reaches it. These rules work with upstream
 * and must work here: [what, rule, matched, labels]. Each rule also carries a warning.
 */
describe('mistakes reported only where evaluation reaches them, as upstream', () => {
  const bad = { op: 'In', value: [] } as unknown as MatchExpression;
  const good = term('cpu.model', { vendor_id: { op: 'In', value: ['Intel'] } });
  const cases: [string, Rule, boolean, Record<string, string>][] = [
    [
      'a wrong value count on a missing key: false, no error',
      {
        name: 'r',
        labels: { a: 'true' },
        matchAny: [
          { matchFeatures: [term('cpu.model', { nokey: bad })] },
          { matchFeatures: [good] },
        ],
      },
      true,
      { a: 'true' },
    ],
    [
      'a wrong value count on a flag feature: false, no error',
      {
        name: 'r',
        labels: { a: 'true' },
        matchAny: [
          { matchFeatures: [term('cpu.cpuid', { AVX2: { op: 'Gt', value: ['1', '2'] } })] },
          { matchFeatures: [good] },
        ],
      },
      true,
      { a: 'true' },
    ],
    [
      'a bad element of matchAny after one that matched is never evaluated',
      {
        name: 'r',
        labels: { a: 'true' },
        matchAny: [
          { matchFeatures: [good] },
          { matchFeatures: [term('cpu.model', { vendor_id: bad })] },
        ],
      },
      true,
      { a: 'true' },
    ],
    [
      'an expression after one that failed in the same term is never evaluated',
      {
        name: 'r',
        labels: { a: 'true' },
        matchFeatures: [
          term('cpu.model', {
            vendor_id: { op: 'In', value: ['AMD'] },
            family: { op: 'Gt', value: ['six'] },
          }),
        ],
      },
      false,
      {},
    ],
    [
      'Exists with values on a missing feature: the term fails first',
      {
        name: 'r',
        labels: { a: 'true' },
        matchFeatures: [term('no.such', { x: { op: 'Exists', value: ['1'] } })],
      },
      false,
      {},
    ],
    [
      'a template that does not parse, on a node where the rule does not match',
      {
        name: 'r',
        labelsTemplate: '{{ if }}',
        matchFeatures: [term('cpu.model', { vendor_id: { op: 'In', value: ['AMD'] } })],
      },
      false,
      {},
    ],
  ];
  for (const [what, rule, matched, labels] of cases) {
    it(what, () => {
      assert.ok(compileRule(rule).warnings.length > 0, 'the mistake is a warning');
      const out = executeRule(rule, features);
      assert.equal(out.matched, matched);
      assert.deepEqual(out.labels, labels);
    });
  }

  const failing: [string, Rule, string][] = [
    [
      'a wrong value count reached with a value',
      { name: 'r', matchFeatures: [term('cpu.model', { vendor_id: bad })] },
      'matchFeatures[0].matchExpressions.vendor_id.value',
    ],
    [
      'values for Exists, even on a missing key',
      { name: 'r', matchFeatures: [term('cpu.model', { nokey: { op: 'Exists', value: ['1'] } })] },
      'matchFeatures[0].matchExpressions.nokey.value',
    ],
    [
      'a bad matchAny element after a match when templates need every element',
      {
        name: 'r',
        labelsTemplate: 'a=b',
        matchAny: [
          { matchFeatures: [good] },
          { matchFeatures: [term('cpu.model', { vendor_id: bad })] },
        ],
      },
      'matchAny[1].matchFeatures[0].matchExpressions.vendor_id.value',
    ],
  ];
  for (const [what, rule, field] of failing) {
    it(`fails where reached: ${what}`, () => {
      assert.deepEqual(
        compileRule(rule).warnings.map((w) => w.field),
        [field],
      );
      assert.throws(
        () => executeRule(rule, features),
        (e: unknown) => e instanceof RuleError && e.field === field,
      );
    });
  }

  it('a well-formed rule has no warnings', () =>
    assert.deepEqual(compileRule({ name: 'r', matchFeatures: [good] }).warnings, []));
});

describe('template data', () => {
  it('an attribute matched by DoesNotExist has the value "" (not <no value>)', () => {
    const out = executeRule(
      {
        name: 'r',
        labelsTemplate: '{{ range .cpu.model }}{{ .Name }}={{ .Value }}x{{ "\\n" }}{{ end }}',
        matchFeatures: [
          term('cpu.model', { nokey: { op: 'DoesNotExist' }, family: { op: 'Exists' } }),
        ],
      },
      features,
    );
    assert.deepEqual(out.labels, { family: '6x', nokey: 'x' });
  });
});
