import { RE2JS } from 're2js';
import { TAINT_EFFECTS, type Taint as KubeTaint } from '../../api/core.js';
import { FEATURE_NS, type Features, type Taint } from '../rules/index.js';
import { fieldPath, quoteValue } from '../../runtime/quote.js';

/**
 * nfd-master's policy for what rules and NodeFeature objects may put on a Node: namespaces,
 * name and value syntax, dynamic `@feature.element` values, extended-resource quantities and
 * taints. Pure: the master and `hwe nfd eval` both call it.
 */

export const PROFILE_NS = 'profile.node.kubernetes.io';
/** Longest feature annotation value the master accepts. */
export const ANNOTATION_VALUE_LIMIT = 1024;
export { TAINT_EFFECTS };
export type TaintEffect = KubeTaint['effect'];

/** A taint that passed the policy: its effect is one Kubernetes accepts. */
export type NodeTaint = Omit<KubeTaint, 'timeAdded'>;

function isTaintEffect(e: string): e is TaintEffect {
  return (TAINT_EFFECTS as readonly string[]).includes(e);
}

export interface LabelPolicy {
  /** `-extra-label-ns`: namespaces allowed although denied (e.g. `vendor.kubernetes.io`). */
  extraLabelNs: readonly string[];
  /** `-deny-label-ns`: namespaces refused; `*.example.com` refuses every subdomain. */
  denyLabelNs: readonly string[];
  /** `-label-whitelist`: when set, only labels whose name (after `/`) matches are published. */
  labelWhiteList?: RE2JS | undefined;
  /** `-enable-taints`: without it no taint is applied. */
  enableTaints: boolean;
}

export const DEFAULT_POLICY: LabelPolicy = {
  extraLabelNs: [],
  denyLabelNs: [],
  labelWhiteList: undefined,
  enableTaints: false,
};

export interface NodeOutputs {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  extendedResources: Record<string, string>;
  taints: Taint[];
}

/** What the policy lets through, and what it dropped. */
export interface PolicyResult extends NodeOutputs {
  taints: NodeTaint[];
  rejected: Rejection[];
}

export type RejectedKind = 'label' | 'annotation' | 'extendedResource' | 'taint';

/** Something the policy dropped, and why. */
export interface Rejection {
  kind: RejectedKind;
  name: string;
  value: string;
  reason: string;
}

const NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUANTITY_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$/;

/**
 * Remembers a pure string check's answers. The master checks the same hundred label names and
 * values on every node; a full cache is emptied rather than grown without bound.
 */
function memoized(check: (s: string) => string | undefined): (s: string) => string | undefined {
  const answers = new Map<string, string | undefined>();
  return (s) => {
    if (answers.has(s)) return answers.get(s);
    if (answers.size >= 20_000) answers.clear();
    const a = check(s);
    answers.set(s, a);
    return a;
  };
}

/** Kubernetes' qualified-name rule for label, annotation and resource names; undefined if valid. */
export const qualifiedNameError = memoized(checkQualifiedName);

/** Kubernetes' label-value rule; undefined if valid. */
export const labelValueError = memoized(checkLabelValue);

function checkQualifiedName(name: string): string | undefined {
  const parts = name.split('/');
  if (parts.length > 2) return 'a qualified name has at most one "/"';
  const base = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix === '') return 'the prefix before "/" must not be empty';
    if (prefix.length > 253 || !DNS_SUBDOMAIN_RE.test(prefix)) {
      return `prefix ${quoteValue(prefix)} must be a lower-case DNS subdomain (253 characters at most)`;
    }
  }
  if (base === '') return 'the name must not be empty';
  if (base.length > 63) return `name ${quoteValue(base)} is longer than 63 characters`;
  if (!NAME_RE.test(base)) {
    return `name ${quoteValue(base)} must be alphanumerics, "-", "_" or "." and start and end with an alphanumeric`;
  }
  return undefined;
}

function checkLabelValue(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return `value ${quoteValue(value)} is longer than 63 characters`;
  if (!NAME_RE.test(value)) {
    return `value ${quoteValue(value)} must be empty or alphanumerics, "-", "_" or "." starting and ending with an alphanumeric`;
  }
  return undefined;
}

export function isQuantity(value: string): boolean {
  return QUANTITY_RE.test(value);
}

function splitNs(name: string): [string, string] {
  const i = name.indexOf('/');
  return i < 0 ? ['', name] : [name.slice(0, i), name.slice(i + 1)];
}

/** `kubernetes.io` and its subdomains are reserved, except the given namespaces and their subdomains. */
function reserved(ns: string, allowed: readonly string[]): boolean {
  if (ns !== 'kubernetes.io' && !ns.endsWith('.kubernetes.io')) return false;
  return !allowed.some((a) => ns === a || ns.endsWith(`.${a}`));
}

function denied(ns: string, deny: readonly string[]): boolean {
  return deny.some((d) => (d.startsWith('*') ? ns.endsWith(d.replace(/^\*+/, '')) : ns === d));
}

/**
 * Resolves `@<domain>.<feature>.<element>` from attribute features (the master's dynamic values).
 * Returns the value or an error message.
 */
export function resolveDynamicValue(
  value: string,
  features: Features,
): { value: string } | { error: string } {
  const parts = value.slice(1).split('.');
  if (parts.length < 3) {
    return { error: `value ${fieldPath(value)} is not in the form @<domain>.<feature>.<element>` };
  }
  const feature = `${parts[0]}.${parts[1]}`;
  const element = parts.slice(2).join('.');
  const attrs = features.attributes[feature];
  if (!attrs) return { error: `feature ${feature} (in ${value}) not found` };
  if (!Object.prototype.hasOwnProperty.call(attrs.elements ?? {}, element)) {
    return { error: `element ${element} not found in feature ${feature} (in ${value})` };
  }
  return { value: attrs.elements[element]! };
}

function dynamic(value: string, features: Features): { value: string } | { error: string } {
  return value.startsWith('@') ? resolveDynamicValue(value, features) : { value };
}

/**
 * Applies the master's policy to what the rules and NodeFeature objects produced. Names must
 * already carry their namespace (see addDefaultNamespace); unprefixed names are refused, as
 * upstream does. `features` are the features after rule processing, so `@rule.matched.x`
 * resolves.
 */
export function applyLabelPolicy(
  input: NodeOutputs,
  features: Features,
  policy: LabelPolicy = DEFAULT_POLICY,
): PolicyResult {
  const rejected: Rejection[] = [];
  const reject = (kind: RejectedKind, name: string, value: string, reason: string): void => {
    rejected.push({ kind, name, value, reason });
  };

  const labels: Record<string, string> = {};
  for (const [name, raw] of Object.entries(input.labels)) {
    const dv = dynamic(raw, features);
    if ('error' in dv) {
      reject('label', name, raw, dv.error);
      continue;
    }
    const [ns, base] = splitNs(name);
    const why =
      qualifiedNameError(name) ??
      (ns === '' ? 'unprefixed names are not allowed' : undefined) ??
      labelValueError(dv.value);
    if (why) {
      reject('label', name, dv.value, why);
      continue;
    }
    if (
      (reserved(ns, [FEATURE_NS, PROFILE_NS]) || denied(ns, policy.denyLabelNs)) &&
      !policy.extraLabelNs.includes(ns)
    ) {
      reject(
        'label',
        name,
        dv.value,
        `namespace ${quoteValue(ns)} is not allowed; see -extra-label-ns`,
      );
      continue;
    }
    if (policy.labelWhiteList && !policy.labelWhiteList.test(base)) {
      reject('label', name, dv.value, `${quoteValue(base)} does not match the label whitelist`);
      continue;
    }
    labels[name] = dv.value;
  }

  const annotations: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.annotations)) {
    const [ns] = splitNs(name);
    const why =
      qualifiedNameError(name) ??
      (ns === '' ? 'unprefixed names are not allowed' : undefined) ??
      (reserved(ns, [FEATURE_NS]) ? `namespace ${quoteValue(ns)} is not allowed` : undefined) ??
      (value.length > ANNOTATION_VALUE_LIMIT
        ? `value is longer than ${ANNOTATION_VALUE_LIMIT} characters`
        : undefined);
    if (why) reject('annotation', name, value, why);
    else annotations[name] = value;
  }

  const extendedResources: Record<string, string> = {};
  for (const [name, raw] of Object.entries(input.extendedResources)) {
    const dv = dynamic(raw, features);
    if ('error' in dv) {
      reject('extendedResource', name, raw, dv.error);
      continue;
    }
    const [ns] = splitNs(name);
    const why =
      qualifiedNameError(name) ??
      (ns === '' ? 'unprefixed names are not allowed' : undefined) ??
      (reserved(ns, [FEATURE_NS]) ? `namespace ${quoteValue(ns)} is not allowed` : undefined) ??
      (isQuantity(dv.value) ? undefined : `value ${quoteValue(dv.value)} is not a quantity`);
    if (why) reject('extendedResource', name, dv.value, why);
    else extendedResources[name] = dv.value;
  }

  // Taints are unique by key and effect on a Node: a later one replaces an earlier one in place.
  const taints: NodeTaint[] = [];
  if (policy.enableTaints) {
    for (const t of input.taints) {
      const value = t.value ?? '';
      const [ns] = splitNs(t.key);
      const why =
        qualifiedNameError(t.key) ??
        (ns === '' ? 'unprefixed taint keys are not allowed' : undefined) ??
        (reserved(ns, [FEATURE_NS]) ? `namespace ${quoteValue(ns)} is not allowed` : undefined) ??
        labelValueError(value) ??
        (t.effect === ''
          ? 'the effect is required'
          : isTaintEffect(t.effect)
            ? undefined
            : `effect ${quoteValue(t.effect)} is not one of ${TAINT_EFFECTS.join(', ')}`);
      const display = `${t.key}=${value}:${t.effect}`;
      if (why || !isTaintEffect(t.effect)) {
        reject('taint', display, value, why ?? 'invalid effect');
        continue;
      }
      const same = taints.findIndex((o) => o.key === t.key && o.effect === t.effect);
      const taint: NodeTaint =
        value === '' ? { key: t.key, effect: t.effect } : { key: t.key, value, effect: t.effect };
      if (same >= 0) taints[same] = taint;
      else taints.push(taint);
    }
  }
  return { labels, annotations, extendedResources, taints, rejected };
}
