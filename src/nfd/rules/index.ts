/**
 * The NodeFeatureRule engine: features in, results out. Knows nothing of Kubernetes.
 * See README.md for the supported semantics and template language.
 */
export type {
  Features,
  FeatureMatcherTerm,
  MatchAnyElem,
  MatchExpression,
  MatchOp,
  NodeFeatureRule,
  Rule,
  RuleOutput,
  Taint,
} from './types.js';
export { emptyFeatures } from './types.js';
export { RuleError, type RuleErrorKind, type RuleWarning } from './errors.js';
export { compileExpression, type CompiledExpression } from './expression.js';
export { compareVersions, parseVersion, type Version } from './version.js';
export { compileRule, evaluateRule, executeRule, type CompiledRule } from './rule.js';
export {
  addDefaultNamespace,
  compileRuleList,
  compileRules,
  evaluateOrError,
  FEATURE_NS,
  processRules,
  RULE_BACKREF_FEATURE,
  type CompiledRuleSet,
  type ProcessOptions,
  type ProcessResult,
  type RuleFailure,
  type RuleSetWarning,
} from './process.js';
export { compileTemplate, TemplateError, type CompiledTemplate } from './template/index.js';
