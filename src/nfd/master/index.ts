/** nfd-master: NodeFeature + NodeFeatureRule → Node labels, annotations, taints, resources. */
export { masterCommand, policyFromFlags } from './command.js';
export {
  NfdMaster,
  LEADER_LEASE_NAME,
  type MasterNode,
  type MasterOptions,
  type MasterStats,
} from './master.js';
export { pruneNodes } from './prune.js';
export * from './node-update.js';
export { compileGroup, matchGroup, type CompiledGroup, type GroupMatch } from './groups.js';
export {
  ProblemReporter,
  RULE_ERROR_REASON,
  RULE_WARNING_REASON,
  type ProblemSeverity,
  type RuleProblem,
} from './problems.js';
export { ruleFailureField, sourceOfRejection, type RuleSource } from './provenance.js';
