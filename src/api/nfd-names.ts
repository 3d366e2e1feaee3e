/**
 * The Node Feature Discovery API names that programs use as values: groups, versions, the
 * node-name label and the match operators. Kept apart from the schemas in `nfd.ts` (which
 * re-exports them) so that a program needing only these names, such as the one-file
 * nfd-worker, does not build every schema when it starts.
 */

export const NFD_GROUP = 'nfd.k8s-sigs.io';
export const NFD_VERSION = 'v1alpha1';
export const NFD_OPENSHIFT_GROUP = 'nfd.openshift.io';
export const NFD_OPENSHIFT_VERSION = 'v1';
export const TOPOLOGY_GROUP = 'topology.node.k8s.io';

/** The label on a NodeFeature object naming the node its features are for. */
export const NODE_NAME_LABEL = 'nfd.node.kubernetes.io/node-name';

/** The match operators, as upstream spells them. */
export const MATCH_OPS = [
  'In',
  'NotIn',
  'InRegexp',
  'Exists',
  'DoesNotExist',
  'Gt',
  'Ge',
  'Lt',
  'Le',
  'GtLt',
  'GeLe',
  'IsTrue',
  'IsFalse',
] as const;
export type MatchOp = (typeof MATCH_OPS)[number];
