import type { Counter, EventType, KubeObject, Logger, Registry } from '../../runtime/index.js';

/**
 * Problems of NodeFeatureRules, reported where a user looks: one log line at the default level,
 * one Warning Event on the NodeFeatureRule (`kubectl describe nodefeaturerule NAME`) and a
 * counter — once per rule object and field, not once per node. The master evaluates every rule
 * on every node; without this, a broken rule either says nothing or says it thousands of times.
 */

/** Event reasons on NodeFeatureRule objects. */
export const RULE_ERROR_REASON = 'RuleError';
export const RULE_WARNING_REASON = 'RuleWarning';

/** `error`: the rule (or one of its outputs) was not applied; `warning`: it was, but look. */
export type ProblemSeverity = 'error' | 'warning';

export interface RuleProblem {
  /** The NodeFeatureRule object's name. */
  rule: string;
  severity: ProblemSeverity;
  /** Path inside the object, e.g. `spec.rules[1].matchFeatures[0].matchExpressions.vendor`. */
  field: string;
  message: string;
  /** A node on which the problem showed (rule problems often depend on a node's features). */
  node?: string;
}

export interface ProblemReporterOptions {
  log: Logger;
  /** Looks a NodeFeatureRule up by name (the informer cache); problems of unknown rules are dropped. */
  lookup: (rule: string) => KubeObject | undefined;
  /** Writes a core/v1 Event; omitted (e.g. with -no-publish), problems are only logged. */
  event?: (obj: KubeObject, type: EventType, reason: string, message: string) => Promise<void>;
  registry: Registry;
}

/** Which version of a rule object a problem belongs to: a changed rule is reported afresh. */
function identity(obj: KubeObject): string {
  const m = obj.metadata;
  return `${m.name ?? ''}\0${m.uid ?? ''}\0${m.generation ?? m.resourceVersion ?? ''}`;
}

export class ProblemReporter {
  /** Reported problems, by key, with the rule version they belong to. */
  private readonly seen = new Map<string, string>();
  private readonly counter: Counter<'severity'>;

  constructor(private readonly opts: ProblemReporterOptions) {
    this.counter = opts.registry.counter({
      name: 'nfd_nodefeaturerule_problems_total',
      help: 'Distinct NodeFeatureRule problems reported (once per rule version, severity and field)',
      labelNames: ['severity'],
    });
  }

  /** Logs and records `p` unless it was already reported for this version of the rule. */
  report(p: RuleProblem): void {
    const obj = this.opts.lookup(p.rule);
    if (!obj) return;
    const id = identity(obj);
    const key = `${id}\0${p.severity}\0${p.field}`;
    if (this.seen.has(key)) return;
    this.seen.set(key, id);
    this.counter.inc({ severity: p.severity });
    const fields = { nodefeaturerule: p.rule, field: p.field, node: p.node, problem: p.message };
    if (p.severity === 'error') this.opts.log.error('NodeFeatureRule problem', fields);
    else this.opts.log.warn('NodeFeatureRule warning', fields);
    void this.opts.event?.(
      obj,
      'Warning',
      p.severity === 'error' ? RULE_ERROR_REASON : RULE_WARNING_REASON,
      `${p.field}: ${p.message}${p.node ? ` (e.g. on node ${p.node})` : ''}`,
    );
  }

  /** Forgets problems of rule versions that no longer exist, so they are reported again if they return. */
  retain(live: readonly KubeObject[]): void {
    const ids = new Set(live.map(identity));
    for (const [key, id] of this.seen) if (!ids.has(id)) this.seen.delete(key);
  }
}
