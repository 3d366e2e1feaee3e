/**
 * What a chaos run (bench/chaos.ts) checks once the faults stop, as pure functions over what it
 * read from the cluster: NFD's outputs on each Node against `hwe nfd eval`'s, KMM's modules on
 * each node against what its Modules select, worker pods, labels that flapped, memory slopes
 * and recovery figures. Each returns counts, so the run can print every invariant with its
 * number of violations.
 */
import type { NodeOutputs } from '../nfd/eval/index.js';
import { FEATURE_NS } from '../nfd/rules/index.js';
import { resolveKernelMapping, type MappableModule } from '../kmm/kernelmapping/index.js';
import {
  isOwnedNodeLabel,
  matchesSelector,
  nodeKernel,
  readyLabel,
  WORKER_LABELS,
  type KmmNode,
} from '../kmm/common/index.js';
import { PROFILE_NS } from '../nfd/eval/index.js';
import type { NodeModulesConfig } from '../api/index.js';
import type { KubeObject } from '../runtime/index.js';

/** A Node as the checks read it. */
export interface ChaosNode extends KmmNode {
  spec?: KmmNode['spec'];
  status?: KmmNode['status'] & { capacity?: Record<string, string> };
}

/** Whether a label, annotation, taint or resource name is in a namespace NFD publishes to. */
export function isNfdKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return false;
  const ns = key.slice(0, slash);
  return [FEATURE_NS, PROFILE_NS].some((n) => ns === n || ns.endsWith(`.${n}`));
}

export interface Mismatch {
  /** Present with another value than expected. */
  wrong: number;
  /** Expected, absent. */
  missing: number;
  /** Present in an NFD namespace, not expected. */
  extra: number;
}

function compareMaps(have: Record<string, string>, want: Record<string, string>): Mismatch {
  const m: Mismatch = { wrong: 0, missing: 0, extra: 0 };
  for (const [k, v] of Object.entries(want)) {
    if (!(k in have)) m.missing++;
    else if (have[k] !== v) m.wrong++;
  }
  for (const k of Object.keys(have)) if (!(k in want)) m.extra++;
  return m;
}

/** nfd-master's bookkeeping annotations: which names it put on the node. */
const BOOKS = {
  labels: 'nfd.node.kubernetes.io/feature-labels',
  annotations: 'nfd.node.kubernetes.io/feature-annotations',
  extendedResources: 'nfd.node.kubernetes.io/extended-resources',
} as const;

/** Names a bookkeeping annotation lists (a name without a namespace is in NFD's own). */
function booked(node: ChaosNode, part: keyof typeof BOOKS): Set<string> {
  const v = node.metadata.annotations?.[BOOKS[part]] ?? '';
  return new Set(
    v
      .split(',')
      .filter(Boolean)
      .map((n) => (n.includes('/') ? n : `${FEATURE_NS}/${n}`)),
  );
}

/**
 * What NFD may own of a map on the node: names in NFD namespaces, names the master's books list,
 * and names expected there (rules may publish to other allowed namespaces).
 */
function owned(
  have: Record<string, string> | undefined,
  want: Record<string, string>,
  books: Set<string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(have ?? {}).filter(([k]) => isNfdKey(k) || k in want || books.has(k)),
  );
}

const taintMap = (ts: readonly { key: string; value?: string; effect: string }[]) =>
  Object.fromEntries(ts.map((t) => [`${t.key}:${t.effect}`, t.value ?? '']));

export type NfdPart = 'labels' | 'annotations' | 'taints' | 'extendedResources';

/** A Node's NFD outputs against what `hwe nfd eval` gives for its NodeFeatures and the rules. */
export function compareNfdNode(node: ChaosNode, expected: NodeOutputs): Record<NfdPart, Mismatch> {
  const wantTaints = taintMap(expected.taints);
  const nodeTaints = (node.spec?.taints ?? []).filter(
    (t) => isNfdKey(t.key) || `${t.key}:${t.effect}` in wantTaints,
  );
  const m = node.metadata;
  return {
    labels: compareMaps(owned(m.labels, expected.labels, booked(node, 'labels')), expected.labels),
    annotations: compareMaps(
      owned(m.annotations, expected.annotations, booked(node, 'annotations')),
      expected.annotations,
    ),
    taints: compareMaps(taintMap(nodeTaints), wantTaints),
    extendedResources: compareMaps(
      owned(node.status?.capacity, expected.extendedResources, booked(node, 'extendedResources')),
      expected.extendedResources,
    ),
  };
}

/** A Module as the checks read it. */
export interface ChaosModule extends MappableModule {
  metadata: { name: string; namespace: string };
  spec: MappableModule['spec'] & { selector: Record<string, string> };
}

/** `namespace/name` of the Modules that select this node and map its kernel. */
export function expectedModules(node: ChaosNode, modules: readonly ChaosModule[]): string[] {
  const kernel = nodeKernel(node);
  if (!kernel) return [];
  return modules
    .filter((m) => matchesSelector(node, m.spec.selector))
    .filter((m) => resolveKernelMapping(m, kernel).ok)
    .map((m) => `${m.metadata.namespace}/${m.metadata.name}`)
    .sort();
}

export interface KmmNodeCheck {
  /** Expected module without its ready label. */
  missingLabel: number;
  /** Ready label of a module that should not be on the node. */
  extraLabel: number;
  /** Expected module without an NMC spec entry. */
  missingEntry: number;
  /** NMC spec entry of a module that should not be on the node. */
  staleEntry: number;
  /** NMC status entry of a module that should not be on the node (still loaded). */
  staleStatus: number;
  /** Expected module not loaded with exactly its wanted config in the node's current boot. */
  notLoaded: number;
}

/** One node's modules against what its Modules select for its kernel. */
export function checkKmmNode(
  node: ChaosNode,
  nmc: NodeModulesConfig | undefined,
  modules: readonly ChaosModule[],
): KmmNodeCheck {
  const want = new Set(expectedModules(node, modules));
  const labels = node.metadata.labels ?? {};
  const c: KmmNodeCheck = {
    missingLabel: 0,
    extraLabel: 0,
    missingEntry: 0,
    staleEntry: 0,
    staleStatus: 0,
    notLoaded: 0,
  };
  const readyKeys = new Map(
    modules.map((m) => [
      readyLabel(m.metadata.namespace, m.metadata.name),
      `${m.metadata.namespace}/${m.metadata.name}`,
    ]),
  );
  for (const key of want) {
    const [ns, name] = key.split('/') as [string, string];
    if (!(readyLabel(ns, name) in labels)) c.missingLabel++;
  }
  for (const k of Object.keys(labels)) {
    if (!isOwnedNodeLabel(k) || k.endsWith('.version.ready')) continue;
    const owner = readyKeys.get(k);
    if (!owner || !want.has(owner)) c.extraLabel++;
  }
  const key = (e: { namespace: string; name: string }) => `${e.namespace}/${e.name}`;
  const spec = new Map((nmc?.spec.modules ?? []).map((e) => [key(e), e]));
  const status = new Map((nmc?.status?.modules ?? []).map((e) => [key(e), e]));
  for (const k of want) if (!spec.has(k)) c.missingEntry++;
  for (const k of spec.keys()) if (!want.has(k)) c.staleEntry++;
  for (const k of status.keys()) if (!want.has(k)) c.staleStatus++;
  const bootID = node.status?.nodeInfo?.bootID;
  for (const k of want) {
    const s = status.get(k);
    const w = spec.get(k);
    if (!s || !w || JSON.stringify(s.config) !== JSON.stringify(w.config) || s.bootId !== bootID)
      c.notLoaded++;
  }
  return c;
}

/** A worker pod as the checks read it. */
export interface WorkerPodView extends KubeObject {
  spec?: { nodeName?: string };
  status?: { phase?: string };
}

function podKey(p: WorkerPodView): string {
  const l = p.metadata.labels ?? {};
  return `${p.metadata.namespace}/${l[WORKER_LABELS.moduleName]}@${p.spec?.nodeName ?? l[WORKER_LABELS.node]}`;
}

/**
 * Worker pods left once the cluster is quiet: orphans (their node or their node's NMC is gone,
 * or the NMC neither wants nor has their module) and the rest (still in flight).
 */
export function checkWorkerPods(
  pods: readonly WorkerPodView[],
  nodes: ReadonlySet<string>,
  nmcs: ReadonlyMap<string, NodeModulesConfig>,
): { orphans: number; lingering: number } {
  let orphans = 0;
  let lingering = 0;
  for (const p of pods) {
    const node = p.spec?.nodeName ?? p.metadata.labels?.[WORKER_LABELS.node] ?? '';
    const module = p.metadata.labels?.[WORKER_LABELS.moduleName];
    const nmc = nmcs.get(node);
    const known = [...(nmc?.spec.modules ?? []), ...(nmc?.status?.modules ?? [])].some(
      (e) => e.name === module && e.namespace === p.metadata.namespace,
    );
    if (!nodes.has(node) || !nmc || !known) orphans++;
    else lingering++;
  }
  return { orphans, lingering };
}

/**
 * Follows worker pods as they come and go (from a watch) and remembers the most pods ever
 * unfinished at once for one node and module: more than one is a duplicate.
 */
export class WorkerPodOverlap {
  private readonly live = new Map<string, Set<string>>();
  /** `module@node` keys that ever had two unfinished pods at once, with the count seen. */
  readonly duplicates = new Map<string, number>();

  /** A pod was added or changed (`deleted`: it is gone). */
  observe(p: WorkerPodView, deleted = false): void {
    const key = podKey(p);
    const uid = p.metadata.uid ?? p.metadata.name ?? '';
    const set = this.live.get(key) ?? new Set<string>();
    const finished =
      deleted ||
      p.metadata.deletionTimestamp !== undefined ||
      p.status?.phase === 'Succeeded' ||
      p.status?.phase === 'Failed';
    if (finished) set.delete(uid);
    else set.add(uid);
    if (set.size) this.live.set(key, set);
    else this.live.delete(key);
    if (set.size > 1) this.duplicates.set(key, Math.max(set.size, this.duplicates.get(key) ?? 0));
  }
}

/** A label's value changing on a node, as a watch saw it (`value` undefined: removed). */
export interface LabelChange {
  t: number;
  node: string;
  key: string;
  value: string | undefined;
}

/** Something the run changed that may rightly remove labels: on one node or all, some keys or all. */
export interface InputChange {
  t: number;
  node?: string;
  keys?: readonly string[];
}

export interface Flap {
  node: string;
  key: string;
  removedAt: number;
  readdedAt: number;
}

/**
 * Labels removed and then put back with the same value although nothing that decides them
 * changed in between (nor `lagMs` before the removal: controllers act on what they saw a
 * little earlier). Such a pair is what a failover must never cause.
 */
export function findFlaps(
  changes: readonly LabelChange[],
  inputs: readonly InputChange[],
  lagMs: number,
): Flap[] {
  const byLabel = new Map<string, LabelChange[]>();
  for (const c of changes) {
    const k = `${c.node}\0${c.key}`;
    const list = byLabel.get(k) ?? [];
    list.push(c);
    byLabel.set(k, list);
  }
  const excused = (node: string, key: string, from: number, to: number) =>
    inputs.some(
      (i) =>
        i.t >= from &&
        i.t <= to &&
        (i.node === undefined || i.node === node) &&
        (i.keys === undefined || i.keys.includes(key)),
    );
  const flaps: Flap[] = [];
  for (const list of byLabel.values()) {
    list.sort((a, b) => a.t - b.t);
    for (let i = 1; i + 1 < list.length; i++) {
      const [before, removed, back] = [list[i - 1]!, list[i]!, list[i + 1]!];
      if (removed.value !== undefined || before.value === undefined) continue;
      if (back.value !== before.value) continue;
      if (excused(removed.node, removed.key, removed.t - lagMs, back.t)) continue;
      flaps.push({
        node: removed.node,
        key: removed.key,
        removedAt: removed.t,
        readdedAt: back.t,
      });
    }
  }
  return flaps;
}

/** Least-squares slope of `v` over `t`, in units of v per unit of t; 0 with fewer than 2 points. */
export function slope(samples: readonly { t: number; v: number }[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const mv = samples.reduce((a, s) => a + s.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mt) * (s.v - mv);
    den += (s.t - mt) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export interface MemoryTrend {
  /** MiB per minute over the window. */
  slopeMiBPerMin: number;
  /** What that slope adds over the whole window, MiB. */
  growthMiB: number;
  meanMiB: number;
  /** Growth over the window within max(10 MiB, 10% of the mean). */
  flat: boolean;
}

/** RSS samples (t in ms, v in MiB) of one process over a window: does it keep growing? */
export function memoryTrend(samples: readonly { t: number; v: number }[]): MemoryTrend {
  const s = slope(samples) * 60_000;
  const span = samples.length ? samples[samples.length - 1]!.t - samples[0]!.t : 0;
  const mean = samples.length ? samples.reduce((a, x) => a + x.v, 0) / samples.length : 0;
  const growth = (s * span) / 60_000;
  return {
    slopeMiBPerMin: s,
    growthMiB: growth,
    meanMiB: mean,
    flat: growth <= Math.max(10, mean * 0.1),
  };
}

/** Median and worst of a list of durations (undefined when empty). */
export function medianWorst(xs: readonly number[]): { n: number; median?: number; worst?: number } {
  if (!xs.length) return { n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, median: s[Math.floor((s.length - 1) / 2)]!, worst: s[s.length - 1]! };
}

/**
 * The 409 (Conflict) answers the apiserver counted, per `resource[/subresource] VERB`, from its
 * `/metrics` text (`apiserver_request_total`), for the resources in `resources`.
 */
export function conflictCounts(
  metrics: string,
  resources: ReadonlySet<string>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = new Map(
      [...line.slice(line.indexOf('{') + 1, close).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    );
    const resource = labels.get('resource') ?? '';
    if (labels.get('code') !== '409' || !resources.has(resource)) continue;
    const sub = labels.get('subresource');
    const key = `${resource}${sub ? `/${sub}` : ''} ${labels.get('verb') ?? ''}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.slice(close + 1).trim()));
  }
  return out;
}

/** `after` minus `before`, per key, keeping the keys that grew. */
export function countsSince(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}
