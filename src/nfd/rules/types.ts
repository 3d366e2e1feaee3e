/**
 * The shapes the rule engine reads and writes. They mirror the `nfd.k8s-sigs.io/v1alpha1`
 * NodeFeature `spec.features` and NodeFeatureRule `spec.rules[]` objects field for field, so a
 * parsed YAML document can be handed over as it is.
 */
import type { MatchOp } from '../../api/nfd.js';

export { MATCH_OPS, type MatchOp } from '../../api/nfd.js';

/** NodeFeature `spec.features`, keyed by `<source>.<feature>` (e.g. `kernel.loadedmodule`). */
export interface Features {
  flags: Record<string, { elements: Record<string, object> }>;
  attributes: Record<string, { elements: Record<string, string> }>;
  instances: Record<string, { elements: { attributes: Record<string, string> }[] }>;
}

export interface MatchExpression {
  op: MatchOp;
  value?: string[];
  /** `version` compares dotted versions instead of integers in Gt/Ge/Lt/Le/GtLt/GeLe. */
  type?: 'version' | '';
}

export interface FeatureMatcherTerm {
  feature: string;
  matchExpressions?: Record<string, MatchExpression>;
  matchName?: MatchExpression;
}

export interface MatchAnyElem {
  matchFeatures: FeatureMatcherTerm[];
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** One item of NodeFeatureRule `spec.rules[]`. */
export interface Rule {
  name: string;
  labels?: Record<string, string>;
  labelsTemplate?: string;
  annotations?: Record<string, string>;
  vars?: Record<string, string>;
  varsTemplate?: string;
  taints?: Taint[];
  extendedResources?: Record<string, string>;
  matchFeatures?: FeatureMatcherTerm[];
  matchAny?: MatchAnyElem[];
}

/** The parts of a NodeFeatureRule object the engine needs. */
export interface NodeFeatureRule {
  metadata: { name: string };
  spec: { rules: Rule[] };
}

/** What one rule produced. Unmatched rules produce empty maps. */
export interface RuleOutput {
  matched: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  vars: Record<string, string>;
  taints: Taint[];
  extendedResources: Record<string, string>;
}

/** An empty Features value, for callers building one up. */
export function emptyFeatures(): Features {
  return { flags: {}, attributes: {}, instances: {} };
}
