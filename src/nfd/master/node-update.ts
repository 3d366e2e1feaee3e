import type { Taint } from '../../api/core.js';
import { FEATURE_NS } from '../rules/index.js';

/**
 * What nfd-master writes to a Node, as a pure function of what the Node has now and what the
 * rules want: the bookkeeping annotations say which labels, annotations, extended resources and
 * taints the master added before, so it removes exactly those and never anything else.
 */

/** Bookkeeping annotations (upstream names); with -instance they get an `<instance>.` prefix. */
export const ANNOTATION_NS = 'nfd.node.kubernetes.io';
export const FEATURE_LABELS_ANNOTATION = `${ANNOTATION_NS}/feature-labels`;
export const FEATURE_ANNOTATIONS_ANNOTATION = `${ANNOTATION_NS}/feature-annotations`;
export const EXTENDED_RESOURCES_ANNOTATION = `${ANNOTATION_NS}/extended-resources`;
export const TAINTS_ANNOTATION = `${ANNOTATION_NS}/taints`;
/** Annotations of old NFD versions, removed when seen. */
export const STALE_ANNOTATIONS = [
  `${ANNOTATION_NS}/master.version`,
  `${ANNOTATION_NS}/worker.version`,
];

/** A Node's taint, its effect not checked (taints are read back from our own annotation too). */
export type NodeTaintLike = Omit<Taint, 'effect'> & { effect: string };

/** What the master wants on one node (after the label policy). */
export interface DesiredNodeState {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  extendedResources: Record<string, string>;
  taints: readonly NodeTaintLike[];
}

/** The parts of a Node the master reads. */
export interface CurrentNodeState {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: readonly NodeTaintLike[];
  capacity?: Record<string, string>;
  allocatable?: Record<string, string>;
}

/** Merge patches (RFC 7386); absent when nothing differs. */
export interface NodeUpdate {
  /** metadata.labels / metadata.annotations (null removes) and, if taints change, spec.taints. */
  patch?: {
    metadata: {
      labels?: Record<string, string | null>;
      annotations?: Record<string, string | null>;
    };
    spec?: { taints: NodeTaintLike[] };
  };
  /** Whether `patch` replaces spec.taints (the caller guards it with the resourceVersion). */
  taintsChanged: boolean;
  /** status.capacity / status.allocatable for extended resources, through /status. */
  statusPatch?: {
    status: {
      capacity: Record<string, string | null>;
      allocatable: Record<string, string | null>;
    };
  };
}

export function instanceAnnotation(name: string, instance: string | undefined): string {
  return instance ? `${instance}.${name}` : name;
}

/** `a,b,vendor.io/c` → names with the default namespace restored. */
export function parseNameList(value: string | undefined, ns: string = FEATURE_NS): string[] {
  if (!value) return [];
  return value
    .split(',')
    .filter((n) => n !== '')
    .map((n) => (n.includes('/') ? n : `${ns}/${n}`));
}

/** The bookkeeping form: sorted, comma-separated, default namespace dropped. */
export function formatNameList(names: Iterable<string>, ns: string = FEATURE_NS): string {
  const prefix = `${ns}/`;
  return [...names]
    .map((n) => (n.startsWith(prefix) ? n.slice(prefix.length) : n))
    .sort()
    .join(',');
}

/** Kubernetes' taint string: `key=value:Effect`, or `key:Effect` without a value. */
export function formatTaint(t: NodeTaintLike): string {
  return t.value ? `${t.key}=${t.value}:${t.effect}` : `${t.key}:${t.effect}`;
}

/** The inverse of formatTaint; entries that do not parse are skipped (they cannot be ours). */
export function parseTaintList(value: string | undefined): NodeTaintLike[] {
  if (!value) return [];
  const out: NodeTaintLike[] = [];
  for (const s of value.split(',')) {
    const colon = s.lastIndexOf(':');
    if (colon <= 0) continue;
    const kv = s.slice(0, colon);
    const effect = s.slice(colon + 1);
    const eq = kv.indexOf('=');
    out.push(
      eq < 0 ? { key: kv, effect } : { key: kv.slice(0, eq), value: kv.slice(eq + 1), effect },
    );
  }
  return out;
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const QUANTITY =
  /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

/** The numeric value of a Kubernetes quantity, or undefined if it is not one. */
export function quantityValue(q: string): number | undefined {
  const m = QUANTITY.exec(q);
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2] !== undefined) {
    const e = Number(m[2]);
    return e < 0 ? base / 10 ** -e : base * 10 ** e;
  }
  const f = m[3] ? SUFFIX[m[3]]! : 1;
  // Divide for sub-unit suffixes: 1500/1000 is exactly 1.5, 1500*0.001 need not be.
  return f < 1 ? base / Math.round(1 / f) : base * f;
}

/**
 * The apiserver stores quantities in canonical form ("1000m" becomes "1"), so compare values,
 * not strings; otherwise a rule written "1000m" would be rewritten on every pass.
 */
export function sameQuantity(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  if (a === b) return true;
  const x = quantityValue(a);
  const y = quantityValue(b);
  if (x === undefined || y === undefined) return false;
  return x === y || Math.abs(x - y) <= 1e-12 * Math.max(Math.abs(x), Math.abs(y));
}

/** Keys to set (value) or remove (null) so that `current` gets `desired`, removing only `owned`. */
function diffMap(
  current: Record<string, string>,
  desired: Record<string, string>,
  owned: Iterable<string>,
): Record<string, string | null> | undefined {
  const out: Record<string, string | null> = {};
  let n = 0;
  for (const k of owned) {
    if (k in current && !(k in desired)) {
      out[k] = null;
      n++;
    }
  }
  for (const k in desired) {
    if (current[k] !== desired[k]) {
      out[k] = desired[k]!;
      n++;
    }
  }
  return n ? out : undefined;
}

const sameTaint = (a: NodeTaintLike, b: NodeTaintLike) => a.key === b.key && a.effect === b.effect;

/**
 * The Node's taints after removing the master's old taints that are no longer wanted and adding
 * or updating the wanted ones (a taint is identified by key and effect, as Kubernetes does).
 * Other taints keep their place.
 */
export function mergeTaints(
  current: readonly NodeTaintLike[],
  owned: readonly NodeTaintLike[],
  desired: readonly NodeTaintLike[],
): NodeTaintLike[] {
  const out = current.filter(
    (t) => !owned.some((o) => sameTaint(o, t)) || desired.some((d) => sameTaint(d, t)),
  );
  for (const d of desired) {
    const i = out.findIndex((t) => sameTaint(t, d));
    const taint: NodeTaintLike = d.value
      ? { key: d.key, value: d.value, effect: d.effect }
      : { key: d.key, effect: d.effect };
    if (i < 0) out.push(taint);
    else if ((out[i]!.value ?? '') !== (d.value ?? '')) out[i] = taint;
  }
  return out;
}

function taintsEqual(a: readonly NodeTaintLike[], b: readonly NodeTaintLike[]): boolean {
  return (
    a.length === b.length &&
    a.every((t, i) => sameTaint(t, b[i]!) && (t.value ?? '') === (b[i]!.value ?? ''))
  );
}

/**
 * The writes that bring a Node from `current` to `desired`. Labels, annotations and taints the
 * master did not add are left alone unless the master now sets them (then it owns them, as
 * upstream's default "allowOverwrite"). Nothing is written when nothing differs.
 */
export function computeNodeUpdate(
  current: CurrentNodeState,
  desired: DesiredNodeState,
  instance?: string,
): NodeUpdate {
  const ann = (n: string) => instanceAnnotation(n, instance);
  const labels = current.labels ?? {};
  const annotations = current.annotations ?? {};

  const wantAnnotations: Record<string, string> = { ...desired.annotations };
  const labelNames = Object.keys(desired.labels);
  if (labelNames.length)
    wantAnnotations[ann(FEATURE_LABELS_ANNOTATION)] = formatNameList(labelNames);
  const erNames = Object.keys(desired.extendedResources);
  if (erNames.length) wantAnnotations[ann(EXTENDED_RESOURCES_ANNOTATION)] = formatNameList(erNames);
  const annNames = Object.keys(desired.annotations);
  if (annNames.length) {
    wantAnnotations[ann(FEATURE_ANNOTATIONS_ANNOTATION)] = formatNameList(annNames);
  }
  if (desired.taints.length) {
    wantAnnotations[ann(TAINTS_ANNOTATION)] = desired.taints.map(formatTaint).join(',');
  }

  const ownedLabels = parseNameList(annotations[ann(FEATURE_LABELS_ANNOTATION)]);
  const ownedAnnotations = [
    ...parseNameList(annotations[ann(FEATURE_ANNOTATIONS_ANNOTATION)]),
    ann(FEATURE_LABELS_ANNOTATION),
    ann(EXTENDED_RESOURCES_ANNOTATION),
    ann(FEATURE_ANNOTATIONS_ANNOTATION),
    ann(TAINTS_ANNOTATION),
    ...STALE_ANNOTATIONS.map(ann),
  ];
  const labelPatch = diffMap(labels, desired.labels, ownedLabels);
  const annotationPatch = diffMap(annotations, wantAnnotations, ownedAnnotations);

  const currentTaints = current.taints ?? [];
  const ownedTaints = parseTaintList(annotations[ann(TAINTS_ANNOTATION)]);
  const taints = mergeTaints(currentTaints, ownedTaints, desired.taints);
  const taintsChanged = !taintsEqual(currentTaints, taints);

  const update: NodeUpdate = { taintsChanged };
  if (labelPatch || annotationPatch || taintsChanged) {
    update.patch = { metadata: {} };
    if (labelPatch) update.patch.metadata.labels = labelPatch;
    if (annotationPatch) update.patch.metadata.annotations = annotationPatch;
    if (taintsChanged) update.patch.spec = { taints };
  }

  const capacity = current.capacity ?? {};
  const allocatable = current.allocatable ?? {};
  const cap: Record<string, string | null> = {};
  const alloc: Record<string, string | null> = {};
  let changed = false;
  for (const r of parseNameList(annotations[ann(EXTENDED_RESOURCES_ANNOTATION)])) {
    if (r in desired.extendedResources) continue;
    if (r in capacity) {
      cap[r] = null;
      changed = true;
    }
    if (r in allocatable) {
      alloc[r] = null;
      changed = true;
    }
  }
  for (const [r, v] of Object.entries(desired.extendedResources)) {
    // Allocatable too: without a kubelet (simulated nodes) nothing else would fill it in.
    if (!sameQuantity(capacity[r], v) || !sameQuantity(allocatable[r], v)) {
      cap[r] = v;
      alloc[r] = v;
      changed = true;
    }
  }
  if (changed) update.statusPatch = { status: { capacity: cap, allocatable: alloc } };
  return update;
}
