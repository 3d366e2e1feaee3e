/**
 * `hwe nfd eval` and the master-side policy it shares with nfd-master: merging a node's
 * NodeFeature objects and filtering what rules produce.
 */
export { evalCommand, DEFAULT_MASTER_NAMESPACE } from './command.js';
export { evaluateNode, parseObjects, type EvalInputs, type EvalResult } from './evaluate.js';
export {
  InvalidInputError,
  mergeFeaturesInto,
  mergeNodeFeatures,
  NODE_NAME_LABEL,
  readNodeFeature,
  type NodeFeatureObject,
} from './merge.js';
export {
  ANNOTATION_VALUE_LIMIT,
  applyLabelPolicy,
  DEFAULT_POLICY,
  isQuantity,
  labelValueError,
  PROFILE_NS,
  qualifiedNameError,
  resolveDynamicValue,
  TAINT_EFFECTS,
  type LabelPolicy,
  type NodeOutputs,
  type NodeTaint,
  type PolicyResult,
  type TaintEffect,
  type RejectedKind,
  type Rejection,
} from './policy.js';
