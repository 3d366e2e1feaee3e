/**
 * The shapes the dashboard's server sends and its page reads: one definition for both sides.
 * Types only, so the page (compiled for the browser) can import it.
 */

/** How node feature labels are grouped on the page. */
export const FEATURE_GROUPS = ['cpu', 'kernel', 'pci', 'usb', 'system', 'custom'] as const;
export type FeatureGroup = (typeof FEATURE_GROUPS)[number];

/** One bounded slice of a long list: the page asks for the rows it shows. */
export interface Page<T> {
  total: number;
  offset: number;
  items: T[];
}

/** Most rows one request may ask for. */
export const MAX_PAGE = 500;

export interface NodeRow {
  name: string;
  ready: boolean;
  kernel: string;
  os: string;
  /** Number of feature labels per group. */
  features: Record<FeatureGroup, number>;
  /** PCI and USB vendor IDs seen in the labels, e.g. `10de`. */
  pciVendors: string[];
  usbVendors: string[];
  /** Labels added by rules (other than the built-in sources), `key=value`. */
  custom: string[];
  /** Modules loaded here (ready labels) and failing here (last load error on the node config). */
  modulesLoaded: number;
  modulesFailed: number;
  hasNodeFeature: boolean;
}

export interface RuleMatch {
  /** The NodeFeatureRule object and the rule's name inside it. */
  object: string;
  rule: string;
  labels: Record<string, string>;
  error?: string;
}

export interface NodeDetail {
  row: NodeRow;
  /** Every label of the node under a feature prefix, grouped, `[key, value]`. */
  groups: Record<FeatureGroup, [string, string][]>;
  /** The node's NodeFeature objects as stored (spec and labels). */
  nodeFeatures: {
    namespace: string;
    name: string;
    labels: Record<string, string>;
    spec: unknown;
  }[];
  /** Each rule that matched this node and what it added, and each rule that failed here. */
  rules: RuleMatch[];
  modules: { namespace: string; name: string; state: NodeModuleState; reason?: string }[];
}

export type NodeModuleState = 'loaded' | 'pending' | 'failed';

export interface RuleRow {
  name: string;
  /** Rules in the object. */
  rules: number;
  /** Nodes where at least one rule of the object matched. */
  nodesMatched: number;
  /** Per rule: nodes matched. */
  perRule: { rule: string; nodes: number }[];
  /** Distinct failures (at most 20): rule, message, on how many nodes. */
  errors: { rule: string; message: string; nodes: number }[];
  /** Label keys the rules added somewhere (at most 20). */
  labels: string[];
}

export type ImageStateView = 'present' | 'building' | 'signing' | 'missing' | 'unchecked';

export interface KernelRow {
  kernel: string;
  nodes: number;
  /** The image the mapping gives, or why there is none. */
  image?: string;
  mappingIndex?: number;
  state: ImageStateView | 'no mapping';
  reason?: string;
}

export interface ModuleRow {
  namespace: string;
  name: string;
  selector: string;
  matched: number;
  loaded: number;
  pending: number;
  failed: number;
  kernels: KernelRow[];
  /** At most 50 each, with the reason. */
  failures: { node: string; reason: string }[];
  pendingNodes: { node: string; reason: string }[];
  /** Ordered upgrade: per version, nodes told to run it and nodes running it. */
  versions: { version: string; target: number; loaded: number }[];
  devicePlugin?: { desired: number; available: number };
  conditions: { type: string; status: string; reason?: string; message?: string }[];
}

export interface PreflightRow {
  kind: 'PreflightValidation' | 'PreflightValidationOCP';
  name: string;
  kernel: string;
  success: number;
  failure: number;
  inProgress: number;
  modules: { namespace: string; name: string; status: string; stage: string; reason?: string }[];
}

export interface TopologyRow {
  node: string;
  policy: string;
  zones: {
    name: string;
    type: string;
    resources: { name: string; capacity: string; allocatable: string; available: string }[];
  }[];
}

export interface Summary {
  nodes: number;
  ready: number;
  nodeFeatures: number;
  rules: number;
  modules: number;
  preflights: number;
  /** Undefined when the cluster does not serve NodeResourceTopology. */
  topologies?: number;
  /** Nodes per kernel, most common first (at most 40, the rest as `other`). */
  kernels: { kernel: string; nodes: number }[];
  /** Kinds this viewer may not list: their views are empty. */
  hidden: string[];
}

/** Rollout over time: per Module, samples `[unix ms, loaded, matched]`. */
export interface RolloutSeries {
  module: string;
  points: [number, number, number][];
}

/** Sent on the event stream: which kinds changed since the last notice. */
export interface ChangeNotice {
  seq: number;
  kinds: string[];
}
