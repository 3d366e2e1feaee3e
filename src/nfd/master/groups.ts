import {
  compileRuleList,
  evaluateOrError,
  RULE_BACKREF_FEATURE,
  RuleError,
  type CompiledRule,
  type Features,
} from '../rules/index.js';

/**
 * NodeFeatureGroup membership: a node belongs to a group when any of the group's rules matches
 * its features. As in NodeFeatureRule processing, each rule's vars are visible to the rules after
 * it as feature `rule.matched`. Pure: compiled once per group, evaluated per node.
 */
export interface CompiledGroup {
  rules: (CompiledRule | RuleError)[];
}

export function compileGroup(featureGroupRules: readonly unknown[]): CompiledGroup {
  return { rules: compileRuleList(featureGroupRules) };
}

export interface GroupMatch {
  matched: boolean;
  /** Rules that failed to compile or evaluate; they match nothing, the others still count. */
  errors: RuleError[];
}

export function matchGroup(group: CompiledGroup, features: Features): GroupMatch {
  const errors: RuleError[] = [];
  let matched = false;
  const attributes = { ...features.attributes };
  const working: Features = { ...features, attributes };
  let backref: Record<string, string> | undefined;
  for (const rule of group.rules) {
    const out = evaluateOrError(rule, working);
    if (out instanceof RuleError) {
      errors.push(out);
      continue;
    }
    if (out.matched) matched = true;
    if (Object.keys(out.vars).length) {
      // Copy on write: the node's cached features are shared and never modified.
      if (!backref) {
        backref = { ...(features.attributes[RULE_BACKREF_FEATURE]?.elements ?? {}) };
        attributes[RULE_BACKREF_FEATURE] = { elements: backref };
      }
      Object.assign(backref, out.vars);
    }
  }
  return { matched, errors };
}
