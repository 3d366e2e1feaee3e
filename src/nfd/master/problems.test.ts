import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, Registry, type KubeObject } from '../../runtime/index.js';
import { ProblemReporter, RULE_ERROR_REASON, RULE_WARNING_REASON } from './problems.js';

function setup() {
  const lines: Record<string, unknown>[] = [];
  const events: { name: string; type: string; reason: string; message: string }[] = [];
  const objects = new Map<string, KubeObject>();
  const registry = new Registry();
  const rule = (name: string, generation = 1) =>
    objects.set(name, {
      apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
      kind: 'NodeFeatureRule',
      metadata: { name, uid: `uid-${name}`, generation },
    });
  const reporter = new ProblemReporter({
    log: createLogger({
      level: 'info',
      write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>),
    }),
    lookup: (n) => objects.get(n),
    event: async (o, type, reason, message) =>
      void events.push({ name: o.metadata.name!, type, reason, message }),
    registry,
  });
  const count = (severity: string) => {
    const m = new RegExp(
      `^nfd_nodefeaturerule_problems_total\\{severity="${severity}"\\} (\\d+)$`,
      'm',
    );
    return Number(m.exec(registry.expose())?.[1] ?? 0);
  };
  return { lines, events, objects, rule, reporter, count };
}

describe('ProblemReporter', () => {
  it('reports a problem once per rule version and field, whatever the node', () => {
    const { lines, events, rule, reporter, count } = setup();
    rule('r');
    for (const node of ['n1', 'n2', 'n3']) {
      reporter.report({
        rule: 'r',
        severity: 'error',
        field: 'spec.rules[0].matchFeatures[0]',
        message: `rule "x": value of ${node} is not a number`,
        node,
      });
    }
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 'error');
    assert.equal(lines[0]!.nodefeaturerule, 'r');
    assert.equal(lines[0]!.field, 'spec.rules[0].matchFeatures[0]');
    assert.equal(lines[0]!.node, 'n1');
    assert.deepEqual(events, [
      {
        name: 'r',
        type: 'Warning',
        reason: RULE_ERROR_REASON,
        message:
          'spec.rules[0].matchFeatures[0]: rule "x": value of n1 is not a number (e.g. on node n1)',
      },
    ]);
    assert.equal(count('error'), 1);
  });

  it('reports another field, another severity and another rule separately', () => {
    const { lines, events, rule, reporter, count } = setup();
    rule('a');
    rule('b');
    reporter.report({ rule: 'a', severity: 'error', field: 'f1', message: 'm' });
    reporter.report({ rule: 'a', severity: 'error', field: 'f2', message: 'm' });
    reporter.report({ rule: 'a', severity: 'warning', field: 'f1', message: 'm' });
    reporter.report({ rule: 'b', severity: 'error', field: 'f1', message: 'm' });
    assert.equal(lines.length, 4);
    assert.deepEqual(
      lines.map((l) => l.level),
      ['error', 'error', 'warn', 'error'],
    );
    assert.equal(events[2]!.reason, RULE_WARNING_REASON);
    assert.equal(events[2]!.message, 'f1: m');
    assert.equal(count('error'), 3);
    assert.equal(count('warning'), 1);
  });

  it('reports again once the rule changed, and forgets rules that are gone', () => {
    const { lines, objects, rule, reporter } = setup();
    rule('r');
    const p = { rule: 'r', severity: 'error' as const, field: 'f', message: 'm' };
    reporter.report(p);
    reporter.report(p);
    rule('r', 2);
    reporter.retain([...objects.values()]);
    reporter.report(p);
    assert.equal(lines.length, 2);
    objects.delete('r');
    reporter.retain([]);
    rule('r', 2);
    reporter.report(p);
    assert.equal(lines.length, 3);
  });

  it('drops problems of rules it cannot find (deleted meanwhile)', () => {
    const { lines, events, reporter } = setup();
    reporter.report({ rule: 'gone', severity: 'error', field: 'f', message: 'm' });
    assert.equal(lines.length, 0);
    assert.equal(events.length, 0);
  });
});
