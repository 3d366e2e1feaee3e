import type { Rejection } from '../eval/index.js';
import {
  FEATURE_NS,
  processRules,
  RuleError,
  type CompiledRule,
  type CompiledRuleSet,
  type Features,
  type ProcessResult,
  type RuleFailure,
  type RuleSetWarning,
} from '../rules/index.js';

/**
 * Where in the NodeFeatureRule objects a problem comes from, as field paths a user can find in
 * `kubectl get nodefeaturerule NAME -o yaml`. Pure: the master calls these only for a problem it
 * has not reported yet, so their cost does not recur per node.
 */

/** A place inside one NodeFeatureRule object. */
export interface RuleSource {
  /** The NodeFeatureRule object's name. */
  object: string;
  /** The rule's name (`spec.rules[i].name`). */
  rule: string;
  /** e.g. `spec.rules[2].labels["feature.node.kubernetes.io/x"]`. */
  field: string;
}

/** `spec.rules[i].<field>` of the rule of `object` that `isRule` picks (`spec.rules` if none). */
function fieldOfRule(
  set: CompiledRuleSet,
  object: string,
  isRule: (r: CompiledRule | RuleError) => boolean,
  field: string,
): string {
  if (field.startsWith('spec.')) return field;
  const i = set.objects.find((o) => o.name === object)?.rules.findIndex(isRule) ?? -1;
  const base = i >= 0 ? `spec.rules[${i}]` : 'spec.rules';
  return field ? `${base}.${field}` : base;
}

/** `spec.rules[i].<field of the error>` for a rule that failed. */
export function ruleFailureField(set: CompiledRuleSet, f: RuleFailure): string {
  return fieldOfRule(
    set,
    f.object,
    (r) => (r instanceof RuleError ? r === f.error : r.name === f.rule),
    f.error.field,
  );
}

/** `spec.rules[i].<field>` of a mistake the engine only warns about. */
export function ruleWarningField(set: CompiledRuleSet, w: RuleSetWarning): string {
  return fieldOfRule(set, w.object, (r) => !(r instanceof RuleError) && r.name === w.rule, w.field);
}

function outputOf(r: ProcessResult, kind: Rejection['kind'], name: string): string | undefined {
  switch (kind) {
    case 'label':
      return r.labels[name];
    case 'annotation':
      return r.annotations[name];
    case 'extendedResource':
      return r.extendedResources[name];
    case 'taint':
      return r.taints.some((t) => `${t.key}=${t.value ?? ''}:${t.effect}` === name)
        ? name
        : undefined;
  }
}

/** The field of `rule` that produced the output: its static map, else its template. */
function outputField(rule: CompiledRule, kind: Rejection['kind'], name: string): string {
  const bare = name.startsWith(`${FEATURE_NS}/`) ? name.slice(FEATURE_NS.length + 1) : name;
  const staticIn = (m: Record<string, string>) => name in m || bare in m;
  switch (kind) {
    case 'label':
      return staticIn(rule.labels) ? `labels[${JSON.stringify(name)}]` : 'labelsTemplate';
    case 'annotation':
      return `annotations[${JSON.stringify(name)}]`;
    case 'extendedResource':
      return `extendedResources[${JSON.stringify(name)}]`;
    case 'taint': {
      const i = rule.taints.findIndex((t) => name.startsWith(`${t.key}=`));
      return i >= 0 ? `taints[${i}]` : 'taints';
    }
  }
}

/**
 * The rule that produced an output the label policy refused, or undefined when no rule did (a
 * label from the NodeFeature objects themselves). Evaluates growing prefixes of the rule list on
 * the node's features — rules see the outputs of the rules before them, so a rule cannot be
 * evaluated alone — and names the last rule that changed the refused output.
 */
export function sourceOfRejection(
  set: CompiledRuleSet,
  features: Partial<Features>,
  rejected: Rejection,
): RuleSource | undefined {
  // Most refusals of a busy cluster are NodeFeature labels: one evaluation says so.
  if (outputOf(processRules(set, features), rejected.kind, rejected.name) === undefined) {
    return undefined;
  }
  let found: RuleSource | undefined;
  let before: string | undefined;
  const prefix: CompiledRuleSet['objects'][number][] = [];
  for (const obj of set.objects) {
    for (let i = 0; i < obj.rules.length; i++) {
      const rule = obj.rules[i]!;
      if (rule instanceof RuleError) continue;
      const now = outputOf(
        processRules(
          { objects: [...prefix, { ...obj, rules: obj.rules.slice(0, i + 1) }], warnings: [] },
          features,
        ),
        rejected.kind,
        rejected.name,
      );
      if (now !== undefined && now !== before) {
        found = {
          object: obj.name,
          rule: rule.name,
          field: `spec.rules[${i}].${outputField(rule, rejected.kind, rejected.name)}`,
        };
      }
      before = now;
    }
    prefix.push(obj);
  }
  return found;
}
