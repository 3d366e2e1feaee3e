/**
 * What the dashboard shows, computed on the server from the informer caches: pure functions of
 * the cluster's objects, so the page receives small, ready-made rows and never a whole list.
 */
import type {
  Module,
  NodeFeature,
  NodeFeatureRule,
  NodeResourceTopology,
  ModuleImagesConfig,
  PreflightValidation,
} from '../api/index.js';
import {
  lastErrorAnnotation,
  readyLabel,
  versionModuleLabel,
  versionReadyLabel,
} from '../kmm/common/index.js';
import { resolveKernelMapping } from '../kmm/kernelmapping/index.js';
import { addDefaultNamespace, executeRule, FEATURE_NS, type Rule } from '../nfd/rules/index.js';
import type { KubeObject } from '../runtime/index.js';
import {
  FEATURE_GROUPS,
  type FeatureGroup,
  type ImageStateView,
  type KernelRow,
  type ModuleRow,
  type NodeModuleState,
  type NodeRow,
  type PreflightRow,
  type RuleMatch,
  type RuleRow,
  type TopologyRow,
} from './types.js';

/** The parts of a Node the dashboard keeps. */
export interface DashNode extends KubeObject {
  status?: {
    nodeInfo?: { kernelVersion?: string; osImage?: string };
    conditions?: { type: string; status: string }[];
  };
}

/** Keeps of a Node what the dashboard reads: its labels, kernel, OS and Ready condition. */
export function trimDashNode(n: DashNode): DashNode {
  const info = n.status?.nodeInfo;
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    metadata: {
      name: n.metadata.name,
      uid: n.metadata.uid,
      resourceVersion: n.metadata.resourceVersion,
      labels: n.metadata.labels,
    },
    status: {
      nodeInfo: { kernelVersion: info?.kernelVersion, osImage: info?.osImage },
      conditions: ready ? [{ type: 'Ready', status: ready.status }] : [],
    },
  };
}

/** Whether two trimmed nodes differ in anything the page shows (heartbeats do not). */
export function nodeShownChanged(a: DashNode, b: DashNode): boolean {
  const ka = a.status?.nodeInfo;
  const kb = b.status?.nodeInfo;
  return (
    isReady(a) !== isReady(b) ||
    ka?.kernelVersion !== kb?.kernelVersion ||
    ka?.osImage !== kb?.osImage ||
    !sameMap(a.metadata.labels, b.metadata.labels)
  );
}

function sameMap(a: Record<string, string> = {}, b: Record<string, string> = {}): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] === a[k]);
}

const KMM_PREFIX = 'kmm.node.kubernetes.io/';

/** The parts of a NodeModulesConfig the dashboard keeps: which modules, and their last errors. */
export interface DashNmc extends KubeObject {
  spec?: { modules?: { name: string; namespace: string }[] };
}

/** Keeps of a NodeModulesConfig the modules it asks for (by name) and its last-error annotations. */
export function trimDashNmc(n: DashNmc): DashNmc {
  const errors = Object.entries(n.metadata.annotations ?? {}).filter(([k]) =>
    k.startsWith(`${KMM_PREFIX}last-error.`),
  );
  return {
    metadata: {
      name: n.metadata.name,
      uid: n.metadata.uid,
      resourceVersion: n.metadata.resourceVersion,
      ...(errors.length ? { annotations: Object.fromEntries(errors) } : {}),
    },
    spec: {
      modules: (n.spec?.modules ?? []).map((m) => ({ name: m.name, namespace: m.namespace })),
    },
  };
}

export function isReady(n: DashNode): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The kernel as KMM maps it (a trailing `+` trimmed). */
export function nodeKernel(n: DashNode): string {
  return (n.status?.nodeInfo?.kernelVersion ?? '').replace(/\+$/, '');
}

const SYSTEM_SOURCES = ['memory-', 'network-', 'storage-', 'system-', 'local-'];
const SOURCE_GROUPS: [string, FeatureGroup][] = [
  ['cpu-', 'cpu'],
  ['kernel-', 'kernel'],
  ['pci-', 'pci'],
  ['usb-', 'usb'],
];

/**
 * The group of a node label, or undefined when it is not a feature label. Labels of
 * `feature.node.kubernetes.io/` are grouped by their source prefix (cpu-, kernel-, pci-, usb-;
 * memory-, network-, storage-, system-, local- as `system`); other names there, and labels of
 * any `*.feature.node.kubernetes.io/` namespace, come from rules: `custom`.
 */
export function featureGroupOf(key: string): FeatureGroup | undefined {
  const slash = key.indexOf('/');
  if (slash < 0) return undefined;
  const ns = key.slice(0, slash);
  const name = key.slice(slash + 1);
  if (ns !== FEATURE_NS) return ns.endsWith(`.${FEATURE_NS}`) ? 'custom' : undefined;
  for (const [prefix, group] of SOURCE_GROUPS) if (name.startsWith(prefix)) return group;
  if (SYSTEM_SOURCES.some((p) => name.startsWith(p))) return 'system';
  return 'custom';
}

function emptyGroups<T>(make: () => T): Record<FeatureGroup, T> {
  return Object.fromEntries(FEATURE_GROUPS.map((g) => [g, make()])) as Record<FeatureGroup, T>;
}

/** A node's feature labels by group, each sorted by key. */
export function groupLabels(
  labels: Record<string, string> = {},
): Record<FeatureGroup, [string, string][]> {
  const out = emptyGroups<[string, string][]>(() => []);
  for (const k of Object.keys(labels).sort()) {
    const g = featureGroupOf(k);
    if (g) out[g].push([k, labels[k]!]);
  }
  return out;
}

/** The vendor of a `pci-<class>_<vendor>.present` or `usb-<class>_<vendor>_<device>.present` label. */
function vendorOf(key: string, bus: 'pci' | 'usb'): string | undefined {
  const m = new RegExp(`^${FEATURE_NS.replace(/\./g, '\\.')}/${bus}-[0-9a-f]+_([0-9a-f]{4})`).exec(
    key,
  );
  return m?.[1];
}

/** One row of the nodes table. */
export function nodeRow(n: DashNode, nmc: DashNmc | undefined, hasNodeFeature: boolean): NodeRow {
  const labels = n.metadata.labels ?? {};
  const features = emptyGroups(() => 0);
  const pci = new Set<string>();
  const usb = new Set<string>();
  const custom: string[] = [];
  let modulesLoaded = 0;
  for (const [k, v] of Object.entries(labels)) {
    const g = featureGroupOf(k);
    if (g) {
      features[g]++;
      if (g === 'pci') {
        const vendor = vendorOf(k, 'pci');
        if (vendor) pci.add(vendor);
      } else if (g === 'usb') {
        const vendor = vendorOf(k, 'usb');
        if (vendor) usb.add(vendor);
      } else if (g === 'custom') custom.push(`${k}=${v}`);
    } else if (
      k.startsWith(KMM_PREFIX) &&
      k.endsWith('.ready') &&
      !k.endsWith('.version.ready') &&
      !k.includes('/version-module.')
    ) {
      modulesLoaded++;
    }
  }
  const ann = nmc?.metadata.annotations ?? {};
  const modulesFailed = Object.keys(ann).filter((k) =>
    k.startsWith(`${KMM_PREFIX}last-error.`),
  ).length;
  return {
    name: n.metadata.name ?? '',
    ready: isReady(n),
    kernel: nodeKernel(n),
    os: n.status?.nodeInfo?.osImage ?? '',
    features,
    pciVendors: [...pci].sort(),
    usbVendors: [...usb].sort(),
    custom: custom.sort(),
    modulesLoaded,
    modulesFailed,
    hasNodeFeature,
  };
}

/**
 * Whether a row passes the search: every word of `q` must be found — in the node's name, its
 * kernel, or one of its labels written `key=value` (case-insensitive substring).
 */
export function nodeMatches(n: DashNode, q: string): boolean {
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const hay = [
    (n.metadata.name ?? '').toLowerCase(),
    nodeKernel(n).toLowerCase(),
    ...Object.entries(n.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`.toLowerCase()),
  ];
  return words.every((w) => hay.some((h) => h.includes(w)));
}

/** Nodes per kernel, most common first; past `max` kernels the rest are summed as `other`. */
export function kernelHistogram(
  nodes: Iterable<DashNode>,
  max = 40,
): { kernel: string; nodes: number }[] {
  const counts = new Map<string, number>();
  for (const n of nodes) {
    const k = nodeKernel(n) || '(unknown)';
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const out = sorted.slice(0, max).map(([kernel, nodes]) => ({ kernel, nodes }));
  const rest = sorted.slice(max).reduce((s, [, c]) => s + c, 0);
  if (rest) out.push({ kernel: 'other', nodes: rest });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rules

/** The features of a node's NodeFeature objects together (later objects win on a clash). */
export function mergedFeatures(nfs: readonly NodeFeature[]): {
  flags: Record<string, { elements: Record<string, object> }>;
  attributes: Record<string, { elements: Record<string, string> }>;
  instances: Record<string, { elements: { attributes: Record<string, string> }[] }>;
} {
  const out = {
    flags: {} as Record<string, { elements: Record<string, object> }>,
    attributes: {} as Record<string, { elements: Record<string, string> }>,
    instances: {} as Record<string, { elements: { attributes: Record<string, string> }[] }>,
  };
  for (const nf of nfs) {
    const f = nf.spec?.features;
    Object.assign(out.flags, f?.flags ?? {});
    Object.assign(out.attributes, f?.attributes ?? {});
    Object.assign(out.instances, f?.instances ?? {});
  }
  return out;
}

const ruleResults = new WeakMap<readonly NodeFeature[], WeakMap<NodeFeatureRule, RuleMatch[]>>();

/**
 * Each rule of one NodeFeatureRule evaluated on a node's features: the rules that matched with
 * the labels they add, and the rules that failed with why. Rules see `rule.matched` of the
 * earlier rules of the same object (not of other objects). Results are kept per pair of
 * objects until either is replaced in the cache.
 */
export function evaluateRuleObject(
  rule: NodeFeatureRule,
  nfs: readonly NodeFeature[],
): RuleMatch[] {
  let perNode = ruleResults.get(nfs);
  if (!perNode) ruleResults.set(nfs, (perNode = new WeakMap()));
  const cached = perNode.get(rule);
  if (cached) return cached;
  const object = rule.metadata.name ?? '';
  const features = mergedFeatures(nfs);
  const backref: Record<string, string> = {};
  features.attributes['rule.matched'] = { elements: backref };
  const out: RuleMatch[] = [];
  for (const r of (rule.spec?.rules ?? []) as Rule[]) {
    try {
      const res = executeRule(r, features);
      if (!res.matched) continue;
      Object.assign(backref, res.labels, res.vars);
      out.push({ object, rule: r.name, labels: addDefaultNamespace(res.labels) });
    } catch (e) {
      out.push({
        object,
        rule: r.name,
        labels: {},
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }
  perNode.set(rule, out);
  return out;
}

/** Per NodeFeatureRule: nodes matched (by any of its rules and per rule), errors, labels added. */
export function ruleRows(
  rules: readonly NodeFeatureRule[],
  nodes: Iterable<readonly NodeFeature[]>,
): RuleRow[] {
  const rows = rules.map((r) => ({
    rule: r,
    row: {
      name: r.metadata.name ?? '',
      rules: r.spec?.rules?.length ?? 0,
      nodesMatched: 0,
      perRule: (r.spec?.rules ?? []).map((x) => ({ rule: x.name, nodes: 0 })),
      errors: [] as RuleRow['errors'],
      labels: [] as string[],
    } satisfies RuleRow,
    errors: new Map<string, { rule: string; message: string; nodes: number }>(),
    labels: new Set<string>(),
  }));
  for (const nfs of nodes) {
    for (const x of rows) {
      const matches = evaluateRuleObject(x.rule, nfs);
      let matched = false;
      for (const m of matches) {
        if (m.error) {
          // Distinct messages (at most 20 per object): a value in a message varies by node.
          const key = `${m.rule}\0${m.error}`;
          const e = x.errors.get(key);
          if (e) e.nodes++;
          else if (x.errors.size < 20) {
            x.errors.set(key, { rule: m.rule, message: m.error, nodes: 1 });
          }
          continue;
        }
        matched = true;
        const per = x.row.perRule.find((p) => p.rule === m.rule);
        if (per) per.nodes++;
        for (const k of Object.keys(m.labels)) if (x.labels.size < 20) x.labels.add(k);
      }
      if (matched) x.row.nodesMatched++;
    }
  }
  return rows
    .map((x) => ({ ...x.row, errors: [...x.errors.values()], labels: [...x.labels].sort() }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Modules

/** Whether labels carry every `key=value` of the selector (an empty selector matches all). */
export function matchesSelector(
  labels: Record<string, string> = {},
  selector: Record<string, string> = {},
): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

const IMAGE_STATES: Record<string, ImageStateView> = {
  Exists: 'present',
  NeedsBuilding: 'building',
  NeedsSigning: 'signing',
  DoesNotExist: 'missing',
};

const LIST_MAX = 50;

/** The state of one Module on one node, and why. */
export function moduleOnNode(
  m: Module,
  node: DashNode,
  nmc: DashNmc | undefined,
): { state: NodeModuleState; reason?: string } {
  const ns = m.metadata.namespace ?? '';
  const name = m.metadata.name ?? '';
  const labels = node.metadata.labels ?? {};
  if (labels[readyLabel(ns, name)] !== undefined) return { state: 'loaded' };
  const lastError = nmc?.metadata.annotations?.[lastErrorAnnotation(ns, name)];
  if (lastError) return { state: 'failed', reason: lastError };
  if (m.spec.moduleLoader) {
    const mapped = resolveKernelMapping(m, nodeKernel(node));
    if (!mapped.ok) {
      return { state: 'failed', reason: mapped.error.message };
    }
  } else {
    // Device plugin only: nothing to load; the plugin's readiness is the Module's.
    return { state: 'loaded' };
  }
  const wanted = nmc?.spec?.modules?.some((e) => e.namespace === ns && e.name === name);
  if (!isReady(node)) return { state: 'pending', reason: 'node not Ready' };
  return {
    state: 'pending',
    reason: wanted ? 'loading: worker pod not done yet' : 'not scheduled on the node yet',
  };
}

/** One row of the Modules view. */
export function moduleRow(
  m: Module,
  nodes: Iterable<DashNode>,
  nmcOf: (node: string) => DashNmc | undefined,
  mic: ModuleImagesConfig | undefined,
): ModuleRow {
  const ns = m.metadata.namespace ?? '';
  const name = m.metadata.name ?? '';
  const row: ModuleRow = {
    namespace: ns,
    name,
    selector: Object.entries(m.spec.selector ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    matched: 0,
    loaded: 0,
    pending: 0,
    failed: 0,
    kernels: [],
    failures: [],
    pendingNodes: [],
    versions: [],
    conditions: (m.status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
    })),
  };
  const kernels = new Map<string, number>();
  const versions = new Map<string, { target: number; loaded: number }>();
  const vTarget = versionModuleLabel(ns, name);
  const vLoaded = versionReadyLabel(ns, name);
  for (const n of nodes) {
    if (!matchesSelector(n.metadata.labels, m.spec.selector)) continue;
    row.matched++;
    const k = nodeKernel(n);
    kernels.set(k, (kernels.get(k) ?? 0) + 1);
    const at = moduleOnNode(m, n, nmcOf(n.metadata.name ?? ''));
    row[at.state]++;
    const node = n.metadata.name ?? '';
    if (at.state === 'failed' && row.failures.length < LIST_MAX) {
      row.failures.push({ node, reason: at.reason ?? '' });
    } else if (at.state === 'pending' && row.pendingNodes.length < LIST_MAX) {
      row.pendingNodes.push({ node, reason: at.reason ?? '' });
    }
    const labels = n.metadata.labels ?? {};
    for (const [label, field] of [
      [vTarget, 'target'],
      [vLoaded, 'loaded'],
    ] as const) {
      const v = labels[label];
      if (v === undefined) continue;
      const e = versions.get(v) ?? { target: 0, loaded: 0 };
      e[field]++;
      versions.set(v, e);
    }
  }
  const states = new Map((mic?.status?.imagesStates ?? []).map((s) => [s.image, s.status]));
  for (const [kernel, count] of [...kernels].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    row.kernels.push(kernelRow(m, kernel, count, states));
  }
  row.versions = [...versions]
    .map(([version, c]) => ({ version, ...c }))
    .sort((a, b) => (a.version < b.version ? -1 : 1));
  if (m.spec.devicePlugin) {
    row.devicePlugin = {
      desired: m.status?.devicePlugin?.desiredNumber ?? 0,
      available: m.status?.devicePlugin?.availableNumber ?? 0,
    };
  }
  return row;
}

function kernelRow(
  m: Module,
  kernel: string,
  nodes: number,
  states: Map<string, string>,
): KernelRow {
  if (!m.spec.moduleLoader) return { kernel, nodes, state: 'present', reason: 'in-tree driver' };
  const mapped = resolveKernelMapping(m, kernel);
  if (!mapped.ok) return { kernel, nodes, state: 'no mapping', reason: mapped.error.message };
  const image = mapped.value.containerImage;
  const st = states.get(image);
  const state = st ? (IMAGE_STATES[st] ?? 'unchecked') : 'unchecked';
  const reason =
    state === 'missing'
      ? 'the image does not exist and the mapping has no build to make it'
      : state === 'unchecked'
        ? 'the image has not been checked yet'
        : undefined;
  return {
    kernel,
    nodes,
    image,
    mappingIndex: mapped.value.mappingIndex,
    state,
    ...(reason ? { reason } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Preflight and topology

export function preflightRow(pv: PreflightValidation, kind: PreflightRow['kind']): PreflightRow {
  const modules = (pv.status?.modules ?? []).map((s) => ({
    namespace: s.namespace,
    name: s.name,
    status: s.verificationStatus,
    stage: s.verificationStage,
    ...(s.statusReason ? { reason: s.statusReason } : {}),
  }));
  const count = (st: string) => modules.filter((s) => s.status === st).length;
  return {
    kind,
    name: pv.metadata.name ?? '',
    kernel: pv.spec.kernelVersion,
    success: count('Success'),
    failure: count('Failure'),
    inProgress: count('InProgress'),
    modules,
  };
}

const q = (v: string | number | undefined): string => (v === undefined ? '' : String(v));

export function topologyRow(t: NodeResourceTopology): TopologyRow {
  const policyAttr = (t.attributes ?? []).find((a) => a.name === 'topologyManagerPolicy');
  return {
    node: t.metadata.name ?? '',
    policy: policyAttr?.value ?? t.topologyPolicies?.[0] ?? '',
    zones: (t.zones ?? []).map((z) => ({
      name: z.name,
      type: z.type,
      resources: (z.resources ?? []).map((r) => ({
        name: r.name,
        capacity: q(r.capacity),
        allocatable: q(r.allocatable),
        available: q(r.available),
      })),
    })),
  };
}

/** `[offset, offset+limit)` of a list, with its total. */
export function page<T>(items: readonly T[], offset: number, limit: number) {
  const o = Math.max(0, Math.min(offset, items.length));
  return { total: items.length, offset: o, items: items.slice(o, o + limit) };
}
