/**
 * Node Feature Discovery resources: NodeFeature, NodeFeatureRule and NodeFeatureGroup
 * (nfd.k8s-sigs.io/v1alpha1), the OpenShift operator's NodeFeatureDiscovery and its
 * NodeFeatureRule (nfd.openshift.io/v1), and NodeResourceTopology (topology.node.k8s.io).
 */
import { Toleration, pullPolicy } from './core.js';
import { matchProps, Rule } from './nfd-rule.js';
import { objectSchema, type ResourceDef } from './resource.js';
import {
  arr,
  bool,
  describedAs,
  enumOf,
  int32,
  int64,
  map,
  obj,
  opt,
  quantity,
  str,
  stringMap,
  time,
  type Static,
} from './schema.js';

import {
  NFD_GROUP,
  NFD_OPENSHIFT_GROUP,
  NFD_OPENSHIFT_VERSION,
  NFD_VERSION,
  TOPOLOGY_GROUP,
} from './nfd-names.js';

// The names and the rule shapes are also here, with the schemas that use them.
export * from './nfd-names.js';
export { FeatureMatcherTerm, MatchAnyElem, MatchExpression, Rule } from './nfd-rule.js';

// ---------------------------------------------------------------------------------------------
// NodeFeature

export const FlagFeatureSet = obj(
  {
    elements: map(obj({}, { description: 'Always empty: a flag has a name only.' }), {
      description: 'The flags, by name.',
    }),
  },
  { description: 'A set of features that are names only, such as loaded kernel modules.' },
);
export type FlagFeatureSet = Static<typeof FlagFeatureSet>;

export const AttributeFeatureSet = obj(
  { elements: stringMap({ description: 'Attribute name → value.' }) },
  { description: 'A set of named string values, such as the kernel version fields.' },
);
export type AttributeFeatureSet = Static<typeof AttributeFeatureSet>;

export const InstanceFeature = obj(
  { attributes: stringMap({ description: 'Attribute name → value of this instance.' }) },
  { description: 'One instance of a feature, such as one PCI device.' },
);
export type InstanceFeature = Static<typeof InstanceFeature>;

export const InstanceFeatureSet = obj(
  { elements: arr(InstanceFeature, { description: 'The instances.' }) },
  { description: 'A list of instances, each a map of attributes, such as PCI devices.' },
);
export type InstanceFeatureSet = Static<typeof InstanceFeatureSet>;

export const Features = obj(
  {
    flags: opt(
      map(FlagFeatureSet, { description: 'Flag features by name, e.g. kernel.loadedmodule.' }),
    ),
    attributes: opt(
      map(AttributeFeatureSet, { description: 'Attribute features by name, e.g. kernel.version.' }),
    ),
    instances: opt(
      map(InstanceFeatureSet, { description: 'Instance features by name, e.g. pci.device.' }),
    ),
  },
  { description: 'Every feature discovered on a node, by type.' },
);
/**
 * A node's features as the engines hold them: all three maps present. A NodeFeature object may
 * leave any of them out; decoding it (readNodeFeature) fills them in.
 */
export type Features = Required<Static<typeof Features>>;

export const NodeFeatureSpec = obj(
  {
    features: opt(Features),
    labels: opt(stringMap({ description: 'Node labels this object asks nfd-master to set.' })),
  },
  { description: 'Features and labels for one node.' },
);
export type NodeFeatureSpec = Static<typeof NodeFeatureSpec>;

export const NodeFeatureStatus = obj(
  {
    lastAppliedAt: opt(time({ description: 'When the object was last written by its agent.' })),
    numberOfFeatures: opt(int32({ description: 'How many features were discovered.' })),
    numberOfFeatureErrors: opt(int32({ description: 'How many feature sources failed.' })),
    numberOfLabels: opt(int32({ description: 'How many labels were requested.' })),
  },
  { description: 'Bookkeeping of the agent that writes the object.' },
);
export type NodeFeatureStatus = Static<typeof NodeFeatureStatus>;

export const NodeFeatureSchema = objectSchema(
  { spec: NodeFeatureSpec, status: opt(NodeFeatureStatus) },
  'Features discovered on one node (named by the label nfd.node.kubernetes.io/node-name), ' +
    'published by nfd-worker or another agent and merged by nfd-master.',
);
export type NodeFeature = Static<typeof NodeFeatureSchema>;

export const NodeFeatureResource: ResourceDef = {
  group: NFD_GROUP,
  kind: 'NodeFeature',
  plural: 'nodefeatures',
  scope: 'Namespaced',
  categories: ['nfd'],
  status: false,
  versions: [
    {
      name: NFD_VERSION,
      storage: true,
      schema: NodeFeatureSchema,
      printerColumns: [
        {
          name: 'Node',
          type: 'string',
          jsonPath: '.metadata.labels.nfd\\.node\\.kubernetes\\.io/node-name',
          description: 'The node the features belong to.',
        },
      ],
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// NodeFeatureRule (its rules are in nfd-rule.ts)

export const NodeFeatureRuleSpec = obj(
  { rules: arr(Rule, { description: 'The rules, evaluated in order.' }) },
  { description: 'A list of rules.' },
);
export type NodeFeatureRuleSpec = Static<typeof NodeFeatureRuleSpec>;

const NodeFeatureRuleSchema = objectSchema(
  { spec: NodeFeatureRuleSpec },
  'Rules that label, annotate, taint and add extended resources to nodes from their features.',
);
export type NodeFeatureRule = Static<typeof NodeFeatureRuleSchema>;

// A printer column shows only the first value a JSONPath yields, so list fields are shown by
// their first element and the column says so.
const ruleColumns = [
  {
    name: 'First Rule',
    type: 'string',
    jsonPath: '.spec.rules[0].name',
    description: 'Name of the first rule.',
  },
  {
    name: 'Labels',
    type: 'string',
    jsonPath: '.spec.rules[0].labels',
    description: 'Labels the first rule sets.',
  },
] as const;

const nodeFeatureRule = (group: string, version: string, shortNames?: string[]): ResourceDef => ({
  group,
  kind: 'NodeFeatureRule',
  plural: 'nodefeaturerules',
  ...(shortNames ? { shortNames } : {}),
  categories: ['nfd'],
  scope: 'Cluster',
  status: false,
  versions: [
    {
      name: version,
      storage: true,
      schema: NodeFeatureRuleSchema,
      printerColumns: [...ruleColumns],
    },
  ],
});

export const NodeFeatureRuleResource = nodeFeatureRule(NFD_GROUP, NFD_VERSION, ['nfr']);
/**
 * The OpenShift operator's copy of NodeFeatureRule: same schema, treated the same. No short
 * name, so that `kubectl get nfr` is never ambiguous (use nodefeaturerules.nfd.openshift.io).
 */
export const OpenShiftNodeFeatureRuleResource = nodeFeatureRule(
  NFD_OPENSHIFT_GROUP,
  NFD_OPENSHIFT_VERSION,
);

// ---------------------------------------------------------------------------------------------
// NodeFeatureGroup

export const GroupRule = obj(
  {
    name: str({ minLength: 1, description: 'Name of the rule.' }),
    vars: opt(stringMap({ description: 'Values kept for later rules of the group.' })),
    varsTemplate: opt(str({ description: 'Template expanded into key=value variable lines.' })),
    ...matchProps,
  },
  { description: 'A rule a node must match to belong to the group.' },
);
export type GroupRule = Static<typeof GroupRule>;

export const NodeFeatureGroupSpec = obj({
  featureGroupRules: arr(GroupRule, {
    description: 'Rules that decide which nodes are in the group.',
  }),
});
export type NodeFeatureGroupSpec = Static<typeof NodeFeatureGroupSpec>;

export const NodeFeatureGroupStatus = obj({
  nodes: opt(
    arr(obj({ name: str({ description: 'Node name.' }) }), {
      listType: 'map',
      listMapKeys: ['name'],
      description: 'The nodes that match the group rules.',
    }),
  ),
});
export type NodeFeatureGroupStatus = Static<typeof NodeFeatureGroupStatus>;

const NodeFeatureGroupSchema = objectSchema(
  { spec: NodeFeatureGroupSpec, status: opt(NodeFeatureGroupStatus) },
  'A group of nodes defined by feature rules; its status lists the nodes that match.',
);
export type NodeFeatureGroup = Static<typeof NodeFeatureGroupSchema>;

export const NodeFeatureGroupResource: ResourceDef = {
  group: NFD_GROUP,
  kind: 'NodeFeatureGroup',
  plural: 'nodefeaturegroups',
  shortNames: ['nfg'],
  categories: ['nfd'],
  scope: 'Namespaced',
  status: true,
  versions: [
    {
      name: NFD_VERSION,
      storage: true,
      schema: NodeFeatureGroupSchema,
      printerColumns: [
        { name: 'First Rule', type: 'string', jsonPath: '.spec.featureGroupRules[0].name' },
      ],
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// NodeFeatureDiscovery (OpenShift operator)

export const NfdConfigMap = obj(
  { configData: opt(str({ description: 'The file content (YAML).' })) },
  { description: 'Configuration text handed to an operand.' },
);

export const OperandSpec = obj(
  {
    namespace: opt(
      str({
        nullable: true,
        description: 'Deprecated: operands always run in the namespace of this object.',
      }),
    ),
    image: opt(
      str({
        nullable: true,
        pattern: '[a-zA-Z0-9\\-]+',
        description: 'The NFD operand image; a digest reference works for disconnected clusters.',
      }),
    ),
    imagePullPolicy: opt(pullPolicy('Pull policy of the operand image (Always if unset).')),
    servicePort: opt(
      int32({ minimum: 1, maximum: 65535, description: 'Port of the nfd-master service.' }),
    ),
    workerTolerations: opt(
      arr(Toleration, { description: 'Extra tolerations of the worker pods.' }),
    ),
    masterTolerations: opt(
      arr(Toleration, { description: 'Extra tolerations of the master pods.' }),
    ),
    workerNodeSelector: opt(stringMap({ description: 'Nodes the worker DaemonSet runs on.' })),
    masterNodeSelector: opt(stringMap({ description: 'Nodes the master pods may run on.' })),
    masterReplicas: opt(
      int32({
        minimum: 1,
        description: 'Replicas of nfd-master (default 1); more than one elects a leader.',
      }),
    ),
  },
  { description: 'How the operands (master, worker, gc, topology updater) are deployed.' },
);
export type OperandSpec = Static<typeof OperandSpec>;

export const NodeFeatureDiscoverySpec = obj(
  {
    operand: opt(OperandSpec),
    instance: opt(
      str({
        nullable: true,
        description:
          'Instance name, for several NFD deployments in one cluster (nfd-master -instance).',
      }),
    ),
    topologyupdater: opt(
      bool({
        default: false,
        description: 'Also deploy nfd-topology-updater (NodeResourceTopology); the seed spelling.',
      }),
    ),
    topologyUpdater: opt(
      bool({ description: 'The same as topologyupdater, as newer operator releases spell it.' }),
    ),
    prunerOnDelete: opt(
      bool({
        default: false,
        description: 'When this object is deleted, remove the labels NFD set on nodes.',
      }),
    ),
    workerConfig: opt(describedAs(NfdConfigMap, 'The nfd-worker.conf file of the workers.')),
    customConfig: opt(
      obj(NfdConfigMap.properties, {
        nullable: true,
        description: 'Legacy custom rules, added to the worker configuration under sources.custom.',
      }),
    ),
    extraLabelNs: opt(
      arr(str(), { description: 'Extra label namespaces nfd-master may write (-extra-label-ns).' }),
    ),
    resourceLabels: opt(
      arr(str(), { description: 'Labels to publish as extended resources (-resource-labels).' }),
    ),
    labelWhiteList: opt(
      str({
        description: 'Regexp; only labels whose name matches are published (-label-whitelist).',
      }),
    ),
    enableTaints: opt(
      bool({ default: false, description: 'Let rules set taints (-enable-taints).' }),
    ),
  },
  { description: 'Desired NFD deployment.' },
);
export type NodeFeatureDiscoverySpec = Static<typeof NodeFeatureDiscoverySpec>;

/**
 * Operator conditions: accepts both openshift/custom-resource-status conditions (with
 * lastHeartbeatTime) and metav1.Condition, which operator releases have used in turn.
 */
export const OperatorCondition = obj({
  type: str({ description: 'Available, Progressing, Degraded or Upgradeable.' }),
  status: enumOf(['True', 'False', 'Unknown'], { description: 'Whether the condition holds.' }),
  reason: opt(str({ description: 'CamelCase reason.' })),
  message: opt(str({ description: 'Which component is not ready, and why.' })),
  observedGeneration: opt(
    int64({ minimum: 0, description: 'Generation the condition was set for.' }),
  ),
  lastHeartbeatTime: opt(
    time({ nullable: true, description: 'When the condition was last checked.' }),
  ),
  lastTransitionTime: opt(time({ nullable: true, description: 'When the status last changed.' })),
});
export type OperatorCondition = Static<typeof OperatorCondition>;

export const NodeFeatureDiscoveryStatus = obj({
  conditions: opt(
    arr(OperatorCondition, {
      listType: 'map',
      listMapKeys: ['type'],
      description: 'Operator conditions.',
    }),
  ),
});
export type NodeFeatureDiscoveryStatus = Static<typeof NodeFeatureDiscoveryStatus>;

const NodeFeatureDiscoverySchema = objectSchema(
  { spec: opt(NodeFeatureDiscoverySpec), status: opt(NodeFeatureDiscoveryStatus) },
  'An NFD deployment managed by the operator: master, workers, gc and topology updater.',
);
export type NodeFeatureDiscovery = Static<typeof NodeFeatureDiscoverySchema>;

const conditionColumn = (type: string) =>
  ({
    name: type,
    type: 'string',
    jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
  }) as const;

export const NodeFeatureDiscoveryResource: ResourceDef = {
  group: NFD_OPENSHIFT_GROUP,
  kind: 'NodeFeatureDiscovery',
  plural: 'nodefeaturediscoveries',
  categories: ['nfd'],
  scope: 'Namespaced',
  status: true,
  versions: [
    {
      name: NFD_OPENSHIFT_VERSION,
      storage: true,
      schema: NodeFeatureDiscoverySchema,
      printerColumns: [
        conditionColumn('Available'),
        conditionColumn('Degraded'),
        { name: 'Image', type: 'string', jsonPath: '.spec.operand.image', priority: 1 },
        { name: 'Topology', type: 'boolean', jsonPath: '.spec.topologyupdater', priority: 1 },
      ],
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// NodeResourceTopology

export const ResourceInfo = obj({
  name: str({
    description: 'Resource name: cpu, memory, hugepages-2Mi, or a device such as vendor/nic1.',
  }),
  capacity: quantity({ description: 'Total amount in the zone.' }),
  allocatable: quantity({ description: 'Amount pods may use.' }),
  available: quantity({ description: 'Amount not yet used by pods.' }),
});
export type ResourceInfo = Static<typeof ResourceInfo>;

export const CostInfo = obj({
  name: str({ description: 'The other zone.' }),
  value: int64({ description: 'Distance to it (from the NUMA distance table).' }),
});
export type CostInfo = Static<typeof CostInfo>;

export const AttributeInfo = obj({
  name: str({ description: 'Attribute name, e.g. topologyManagerPolicy.' }),
  value: str({ description: 'Attribute value.' }),
});
export type AttributeInfo = Static<typeof AttributeInfo>;

const attributes = (description: string) => arr(AttributeInfo, { description });

export const Zone = obj({
  name: str({ description: 'Zone name, e.g. node-0.' }),
  type: str({ description: 'Zone type, e.g. Node for a NUMA node.' }),
  parent: opt(str({ description: 'The zone containing this one.' })),
  costs: opt(arr(CostInfo, { description: 'Distances to other zones.' })),
  attributes: opt(attributes('Zone attributes.')),
  resources: opt(arr(ResourceInfo, { description: 'Resources of the zone.' })),
});
export type Zone = Static<typeof Zone>;

const zones = arr(Zone, { description: 'The zones (NUMA nodes) of the node.' });
const policies = (description: string) => arr(str(), { description });

const NodeResourceTopologySchema = objectSchema(
  {
    topologyPolicies: opt(
      policies(
        'Deprecated: the topology manager policy; see attributes topologyManagerPolicy/Scope.',
      ),
    ),
    zones,
    attributes: opt(
      attributes('Node-wide attributes: topologyManagerPolicy, topologyManagerScope, …'),
    ),
  },
  'Per-NUMA-zone resources of one node (named after it), written by nfd-topology-updater.',
);
export type NodeResourceTopology = Static<typeof NodeResourceTopologySchema>;

const NodeResourceTopologyV1alpha1Schema = objectSchema(
  {
    topologyPolicies: policies('Topology manager policies, e.g. SingleNUMANodeContainerLevel.'),
    zones,
  },
  'Per-NUMA-zone resources of one node (v1alpha1; served for older clients, stored as v1alpha2).',
);

export const NodeResourceTopologyResource: ResourceDef = {
  group: TOPOLOGY_GROUP,
  kind: 'NodeResourceTopology',
  plural: 'noderesourcetopologies',
  shortNames: ['node-res-topo'],
  scope: 'Cluster',
  status: false,
  // topology.node.k8s.io is under k8s.io: the apiserver wants the API review that approved it.
  annotations: {
    'api-approved.kubernetes.io': 'https://github.com/kubernetes/enhancements/pull/1870',
  },
  versions: [
    {
      name: 'v1alpha1',
      storage: false,
      schema: NodeResourceTopologyV1alpha1Schema,
      printerColumns: [{ name: 'Policy', type: 'string', jsonPath: '.topologyPolicies[0]' }],
      deprecationWarning:
        'topology.node.k8s.io/v1alpha1 NodeResourceTopology is deprecated; use v1alpha2',
    },
    {
      name: 'v1alpha2',
      storage: true,
      schema: NodeResourceTopologySchema,
      printerColumns: [
        {
          name: 'Policy',
          type: 'string',
          jsonPath: '.attributes[?(@.name=="topologyManagerPolicy")].value',
        },
        {
          name: 'Scope',
          type: 'string',
          jsonPath: '.attributes[?(@.name=="topologyManagerScope")].value',
        },
      ],
    },
  ],
};
