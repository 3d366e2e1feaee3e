import { RuleError, type RuleWarning } from './errors.js';
import { type CompiledRule, compileRule, evaluateRule } from './rule.js';
import type { Features, NodeFeatureRule, RuleOutput, Taint } from './types.js';

/** The namespace nfd-master gives unprefixed label, annotation and extended-resource names. */
export const FEATURE_NS = 'feature.node.kubernetes.io';
/** Rules see the labels and vars of earlier rules as attribute feature `rule.matched`. */
export const RULE_BACKREF_FEATURE = 'rule.matched';

/** A rule that could not be applied, with the object it came from. */
export interface RuleFailure {
  object: string;
  rule: string;
  error: RuleError;
}

/**
 * A rule's output on `features`, or the RuleError that keeps it from matching (the one it failed
 * to compile with, or one raised while evaluating it); any other error is thrown.
 */
export function evaluateOrError(
  rule: CompiledRule | RuleError,
  features: Partial<Features>,
): RuleOutput | RuleError {
  if (rule instanceof RuleError) return rule;
  try {
    return evaluateRule(rule, features);
  } catch (e) {
    if (e instanceof RuleError) return e;
    throw e;
  }
}

interface CompiledObject {
  name: string;
  rules: (CompiledRule | RuleError)[];
}

/** A rule's warning with the object it came from. */
export interface RuleSetWarning extends RuleWarning {
  object: string;
}

/** NodeFeatureRule objects compiled once, in the order the master applies them. */
export interface CompiledRuleSet {
  readonly objects: readonly CompiledObject[];
  /**
   * Mistakes that fail a rule only on the nodes where evaluation reaches them, as upstream
   * (the rule applies elsewhere); for the caller to report once per rule, not per node.
   */
  readonly warnings: readonly RuleSetWarning[];
}

export interface ProcessOptions {
  /**
   * Give unprefixed label, annotation and extended-resource names the `feature.node.kubernetes.io/`
   * prefix, rule by rule, as nfd-master does by default. Default true.
   */
  autoDefaultNs?: boolean;
}

export interface ProcessResult {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  extendedResources: Record<string, string>;
  taints: Taint[];
  /** The input features plus `rule.matched` as the last rule left it (for `@rule.matched.x`). */
  features: Features;
  /** Rules that failed; they contributed nothing, the others applied. */
  errors: RuleFailure[];
}

/**
 * Adds `ns/` to names without a prefix. When both `name` and `ns/name` are present the prefixed
 * one wins, whatever the order.
 */
export function addDefaultNamespace(
  input: Record<string, string>,
  ns: string = FEATURE_NS,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(input)) {
    if (k.includes('/')) out[k] = v;
    else {
      const fq = `${ns}/${k}`;
      if (!Object.prototype.hasOwnProperty.call(input, fq)) out[fq] = v;
    }
  }
  return out;
}

/** Prefixed names by unprefixed name: the same few names recur on every node. */
const prefixed = new Map<string, string>();
function withNs(k: string): string {
  let p = prefixed.get(k);
  if (p === undefined) {
    p = `${FEATURE_NS}/${k}`;
    if (prefixed.size >= 8192) prefixed.clear();
    prefixed.set(k, p);
  }
  return p;
}

/** `Object.assign(into, autoNs ? addDefaultNamespace(from) : from)` without the garbage. */
function copyInto(
  into: Record<string, string>,
  from: Record<string, string>,
  autoNs: boolean,
): void {
  for (const k in from) {
    if (!autoNs || k.includes('/')) into[k] = from[k]!;
    else {
      const fq = withNs(k);
      if (!Object.prototype.hasOwnProperty.call(from, fq)) into[fq] = from[k]!;
    }
  }
}

function objectName(o: unknown, i: number): string {
  const meta = (o as { metadata?: { name?: unknown } } | null)?.metadata;
  return typeof meta?.name === 'string' ? meta.name : `#${i}`;
}

/**
 * Compiles NodeFeatureRule objects: sorted by name (byte order, as Go sorts strings), rules in
 * list order. A rule that does not compile is kept as its error, so it is reported on every
 * evaluation while the others still apply.
 */
export function compileRules(nodeFeatureRules: readonly NodeFeatureRule[]): CompiledRuleSet {
  const named = nodeFeatureRules.map((o, i) => ({ o, name: objectName(o, i) }));
  named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const objects = named.map(({ o, name }): CompiledObject => {
    const rules = (o as { spec?: { rules?: unknown } } | null)?.spec?.rules;
    if (!Array.isArray(rules)) {
      return {
        name,
        rules: [new RuleError('InvalidRule', '', 'spec.rules', 'must be a list of rules')],
      };
    }
    return { name, rules: compileRuleList(rules) };
  });
  const warnings = objects.flatMap((obj) =>
    obj.rules.flatMap((r) =>
      r instanceof RuleError ? [] : r.warnings.map((w) => ({ object: obj.name, ...w })),
    ),
  );
  return { objects, warnings };
}

/** Compiles each rule of a list; a malformed one becomes its RuleError, the others still compile. */
export function compileRuleList(rules: readonly unknown[]): (CompiledRule | RuleError)[] {
  return rules.map((r) => {
    try {
      return compileRule(r);
    } catch (e) {
      if (e instanceof RuleError) return e;
      throw e;
    }
  });
}

function isCompiled(x: unknown): x is CompiledRuleSet {
  return typeof x === 'object' && x !== null && 'objects' in x && !Array.isArray(x);
}

/**
 * Applies NodeFeatureRule objects to one node's features, as nfd-master does: objects by name,
 * rules in list order; after each rule that ran without error, its (unprefixed) labels and then
 * its vars are added to feature `rule.matched` for the rules after it. A failing rule is
 * reported in `errors` and skipped. The input features are not modified.
 */
export function processRules(
  rules: CompiledRuleSet | readonly NodeFeatureRule[],
  features: Partial<Features>,
  options: ProcessOptions = {},
): ProcessResult {
  const set = isCompiled(rules) ? rules : compileRules(rules);
  const autoNs = options.autoDefaultNs ?? true;
  const attributes = { ...features.attributes };
  // Objects from the API may omit empty feature types; the engine tolerates that.
  const working: Features = {
    flags: features.flags ?? {},
    attributes,
    instances: features.instances ?? {},
  };
  let backref: Record<string, string> | undefined;
  const result: ProcessResult = {
    labels: {},
    annotations: {},
    extendedResources: {},
    taints: [],
    features: working,
    errors: [],
  };
  for (const obj of set.objects) {
    for (const rule of obj.rules) {
      const out = evaluateOrError(rule, working);
      if (out instanceof RuleError) {
        const name = rule instanceof RuleError ? rule.rule : rule.name;
        result.errors.push({ object: obj.name, rule: name, error: out });
        continue;
      }
      // Copy-on-write: the caller's rule.matched elements are never modified.
      if (!backref) {
        backref = { ...(features.attributes?.[RULE_BACKREF_FEATURE]?.elements ?? {}) };
        attributes[RULE_BACKREF_FEATURE] = { elements: backref };
      }
      if (!out.matched) continue;
      for (const t of out.taints) result.taints.push(t);
      copyInto(result.labels, out.labels, autoNs);
      copyInto(result.extendedResources, out.extendedResources, autoNs);
      copyInto(result.annotations, out.annotations, autoNs);
      for (const k in out.labels) backref[k] = out.labels[k]!;
      for (const k in out.vars) backref[k] = out.vars[k]!;
    }
  }
  return result;
}
