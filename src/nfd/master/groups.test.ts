import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyFeatures, type Features } from '../rules/index.js';
import { compileGroup, matchGroup } from './groups.js';

function features(modules: string[]): Features {
  const f = emptyFeatures();
  f.flags['kernel.loadedmodule'] = { elements: Object.fromEntries(modules.map((m) => [m, {}])) };
  return f;
}

const hasModule = (name: string, mod: string, vars?: Record<string, string>) => ({
  name,
  vars,
  matchFeatures: [
    { feature: 'kernel.loadedmodule', matchExpressions: { [mod]: { op: 'Exists' } } },
  ],
});

describe('matchGroup', () => {
  it('matches when any rule matches', () => {
    const g = compileGroup([hasModule('a', 'veth'), hasModule('b', 'e1000e')]);
    assert.equal(matchGroup(g, features(['e1000e'])).matched, true);
    assert.equal(matchGroup(g, features(['veth'])).matched, true);
    assert.equal(matchGroup(g, features(['xfs'])).matched, false);
  });

  it('feeds vars to later rules as rule.matched, without touching the input', () => {
    const g = compileGroup([
      hasModule('a', 'veth', { 'has-veth': 'true' }),
      {
        name: 'b',
        matchFeatures: [
          { feature: 'rule.matched', matchExpressions: { 'has-veth': { op: 'IsTrue' } } },
          { feature: 'kernel.loadedmodule', matchExpressions: { bridge: { op: 'Exists' } } },
        ],
      },
    ]);
    const f = features(['veth', 'bridge']);
    assert.equal(matchGroup(g, f).matched, true);
    assert.equal(f.attributes['rule.matched'], undefined);
  });

  it('reports a broken rule and still applies the others', () => {
    const g = compileGroup([
      // Exists with a value fails wherever evaluated (here: the feature exists), as upstream.
      {
        name: 'bad',
        matchFeatures: [
          {
            feature: 'kernel.loadedmodule',
            matchExpressions: { k: { op: 'Exists', value: ['1'] } },
          },
        ],
      },
      hasModule('good', 'veth'),
    ]);
    const m = matchGroup(g, features(['veth']));
    assert.equal(m.matched, true);
    assert.equal(m.errors.length, 1);
  });
});
