/**
 * The shapes the rule engine reads and writes. Its inputs are the API's types (NodeFeature
 * `spec.features`, NodeFeatureRule `spec.rules[]`), so a parsed YAML document can be handed over
 * as it is; only the engine's outputs are declared here.
 */
import type { Taint as KubeTaint } from '../../api/core.js';
import type {
  Features,
  NodeFeatureRule as NodeFeatureRuleObject,
  Rule as RuleSpec,
} from '../../api/nfd.js';

export type { FeatureMatcherTerm, Features, MatchAnyElem, MatchExpression } from '../../api/nfd.js';
// The operators come from the names module, not the schemas: programs that only evaluate
// rules (the one-file nfd-worker) then never build the API's schemas.
export { MATCH_OPS, type MatchOp } from '../../api/nfd-names.js';

/** An empty Features value, for callers building one up. */
export function emptyFeatures(): Features {
  return { flags: {}, attributes: {}, instances: {} };
}

/**
 * A taint as a rule asks for it: the API's Taint with its effect not checked yet (custom rules
 * of the worker config never pass the CRD schema); the master's policy checks it.
 */
export type Taint = Omit<KubeTaint, 'effect' | 'timeAdded'> & { effect: string };

/** One item of NodeFeatureRule `spec.rules[]`, or a custom rule of the worker config. */
export type Rule = Omit<RuleSpec, 'taints'> & { taints?: Taint[] };

/** The parts of a NodeFeatureRule object the engine reads. */
export type NodeFeatureRule = Pick<NodeFeatureRuleObject, 'metadata'> & { spec: { rules: Rule[] } };

/** What one rule produced. Unmatched rules produce empty maps. */
export interface RuleOutput {
  matched: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  vars: Record<string, string>;
  taints: Taint[];
  extendedResources: Record<string, string>;
}
