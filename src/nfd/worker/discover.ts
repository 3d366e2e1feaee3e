/**
 * One discovery pass: run the enabled sources over the host, collect their features, name their
 * labels and filter them, and build the NodeFeature object the worker publishes.
 */
import { resolveSourceList, type WorkerConfig } from './config.js';
import type { HostPaths } from './hostfs.js';
import type { DiscoverContext } from './source.js';
import { registeredSources } from './sources/index.js';
import { addSourceFeatures, emptyFeatures, type DiscoveryWarning, type Features } from './types.js';
import { NFD_GROUP, NFD_VERSION, NODE_NAME_LABEL } from '../../api/nfd-names.js';
import type { NodeFeature } from '../../api/nfd.js';
import type { OwnerReference } from '../../runtime/objects.js';
import { fieldPath, quoteValue } from '../../runtime/quote.js';

const FEATURE_LABEL_NS = 'feature.node.kubernetes.io';
export { NODE_NAME_LABEL };
export const WORKER_POD_UID_ANNOTATION = 'nfd.node.kubernetes.io/worker.pod.uid';
const NFD_API_VERSION = `${NFD_GROUP}/${NFD_VERSION}`;

export interface DiscoverOptions {
  paths: HostPaths;
  config: WorkerConfig;
  nodeName: string;
  now?: Date;
  /** Tests the label name after the `/`; absent publishes every label. */
  labelFilter?: (name: string) => boolean;
}

export interface DiscoveryResult {
  /** Features of the enabled feature sources: what the NodeFeature carries. */
  features: Features;
  labels: Record<string, string>;
  warnings: DiscoveryWarning[];
  /** How sources found their features where they have several ways (e.g. the CPUID path). */
  notes: DiscoveryWarning[];
}

export function sourceNames(): string[] {
  return registeredSources().map((s) => s.name);
}

const NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const PREFIX_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why Kubernetes would refuse this label, or undefined when it is valid. */
export function labelProblem(key: string, value: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? '' : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0 && (prefix.length > 253 || !PREFIX_RE.test(prefix)))
    return `prefix ${quoteValue(prefix)} is not a DNS subdomain`;
  if (name.length > 63 || !NAME_RE.test(name))
    return 'name must be 1-63 characters of letters, digits, "-", "_", "." starting and ending alphanumeric';
  if (value !== '' && (value.length > 63 || !NAME_RE.test(value)))
    return `value ${quoteValue(value)} must be at most 63 characters of letters, digits, "-", "_", "." starting and ending alphanumeric`;
  return undefined;
}

export async function discover(opts: DiscoverOptions): Promise<DiscoveryResult> {
  const { config } = opts;
  const sources = registeredSources();
  const names = sources.map((s) => s.name);
  const featureSources = resolveSourceList(
    config.core.featureSources,
    names,
    'core.featureSources',
  );
  const labelSources = resolveSourceList(config.core.labelSources, names, 'core.labelSources');
  const warnings: DiscoveryWarning[] = [];
  const notes: DiscoveryWarning[] = [];
  const all = emptyFeatures();
  const published = emptyFeatures();
  const labels: Record<string, string> = {};
  // Made when a source first asks (only dated feature files do): a one-shot pass otherwise
  // never pages in V8's date code.
  let now = opts.now;
  for (const source of sources) {
    const enabledF = featureSources.has(source.name);
    const enabledL = labelSources.has(source.name);
    if (!enabledF && !enabledL) continue;
    const ctx: DiscoverContext = {
      paths: opts.paths,
      config,
      nodeName: opts.nodeName,
      get now() {
        return (now ??= new Date());
      },
      features: all,
      warn: (message) => warnings.push({ source: source.name, message }),
      note: (message) => notes.push({ source: source.name, message }),
    };
    let own;
    try {
      own = await source.discover(ctx);
    } catch (e) {
      ctx.warn(`discovery failed: ${(e as Error).message}`);
      continue;
    }
    addSourceFeatures(all, source.name, own);
    if (enabledF) addSourceFeatures(published, source.name, own);
    if (!enabledL) continue;
    let produced: Record<string, string>;
    try {
      produced = await source.labels(own, ctx);
    } catch (e) {
      ctx.warn(`labelling failed: ${(e as Error).message}`);
      continue;
    }
    for (const [n, v] of Object.entries(produced)) {
      const key = source.rawLabels ? n : `${FEATURE_LABEL_NS}/${source.name}-${n}`;
      const base = key.slice(key.lastIndexOf('/') + 1);
      if (opts.labelFilter && !opts.labelFilter(base)) continue;
      const problem = labelProblem(key, v);
      if (problem) {
        ctx.warn(`label ${fieldPath(`${key}=${v}`)} left out: ${problem}`);
        continue;
      }
      labels[key] = v;
    }
  }
  return { features: sortFeatures(published), labels: sortKeys(labels), warnings, notes };
}

/** The same object with its keys in code-unit order (the default sort of strings). */
function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

/** Stable key order, so that two passes over the same host give identical objects. */
function sortFeatures(f: Features): Features {
  const flags = sortKeys(f.flags);
  for (const k of Object.keys(flags)) flags[k] = { elements: sortKeys(flags[k]!.elements) };
  const attributes = sortKeys(f.attributes);
  for (const k of Object.keys(attributes))
    attributes[k] = { elements: sortKeys(attributes[k]!.elements) };
  const instances = sortKeys(f.instances);
  for (const k of Object.keys(instances)) {
    instances[k] = {
      elements: instances[k]!.elements.map((e) => ({ attributes: sortKeys(e.attributes) })),
    };
  }
  return { flags, attributes, instances };
}

/**
 * The NodeFeature the worker writes: the API's object with the fields the worker always sets.
 */
export type NodeFeatureObject = NodeFeature & {
  apiVersion: string;
  kind: 'NodeFeature';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { features: Features; labels: Record<string, string> };
};

export function buildNodeFeature(a: {
  nodeName: string;
  namespace: string;
  result: Pick<DiscoveryResult, 'features' | 'labels'>;
  podUid?: string;
  ownerReferences?: OwnerReference[];
}): NodeFeatureObject {
  const nf: NodeFeatureObject = {
    apiVersion: NFD_API_VERSION,
    kind: 'NodeFeature',
    metadata: {
      name: a.nodeName,
      namespace: a.namespace,
      labels: { [NODE_NAME_LABEL]: a.nodeName },
    },
    spec: { features: a.result.features, labels: a.result.labels },
  };
  if (a.podUid) nf.metadata.annotations = { [WORKER_POD_UID_ANNOTATION]: a.podUid };
  if (a.ownerReferences?.length) nf.metadata.ownerReferences = a.ownerReferences;
  return nf;
}
