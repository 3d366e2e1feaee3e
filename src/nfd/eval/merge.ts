import { NODE_NAME_LABEL } from '../../api/nfd.js';
import { addDefaultNamespace, emptyFeatures, type Features } from '../rules/index.js';

export { NODE_NAME_LABEL };

/** What nfd-master reads of one NodeFeature object, checked and normalised by readNodeFeature. */
export interface NodeFeatureObject {
  name: string;
  namespace: string;
  node: string;
  features: Features;
  labels: Record<string, string>;
}

/** Input that is not a valid object; `path` names the offending field. */
export class InvalidInputError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'InvalidInputError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function record(v: unknown, path: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) throw new InvalidInputError(path, 'must be a map');
  return v;
}

function strings(v: unknown, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(record(v, path))) {
    if (typeof val !== 'string') {
      throw new InvalidInputError(
        `${path}.${k}`,
        `must be a string; quote it in YAML ("${String(val)}")`,
      );
    }
    out[k] = val;
  }
  return out;
}

/** Checks a NodeFeature document and returns it normalised. `at` prefixes error paths. */
export function readNodeFeature(doc: unknown, at: string): NodeFeatureObject {
  const meta = record(record(doc, at || '(document)')['metadata'], `${at}metadata`);
  const name = meta['name'];
  if (typeof name !== 'string' || name === '') {
    throw new InvalidInputError(`${at}metadata.name`, 'is required');
  }
  const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : '';
  const objLabels = strings(meta['labels'], `${at}metadata.labels`);
  const spec = record((doc as Record<string, unknown>)['spec'], `${at}spec`);
  const f = record(spec['features'], `${at}spec.features`);
  const features = emptyFeatures();
  for (const [k, v] of Object.entries(record(f['flags'], `${at}spec.features.flags`))) {
    const p = `${at}spec.features.flags.${k}`;
    const elements: Record<string, object> = {};
    for (const [e, ev] of Object.entries(record(record(v, p)['elements'], `${p}.elements`))) {
      if (ev !== null && !isRecord(ev))
        throw new InvalidInputError(`${p}.elements.${e}`, 'must be {}');
      elements[e] = {};
    }
    features.flags[k] = { elements };
  }
  for (const [k, v] of Object.entries(record(f['attributes'], `${at}spec.features.attributes`))) {
    const p = `${at}spec.features.attributes.${k}`;
    features.attributes[k] = { elements: strings(record(v, p)['elements'], `${p}.elements`) };
  }
  for (const [k, v] of Object.entries(record(f['instances'], `${at}spec.features.instances`))) {
    const p = `${at}spec.features.instances.${k}`;
    const els = record(v, p)['elements'] ?? [];
    if (!Array.isArray(els)) throw new InvalidInputError(`${p}.elements`, 'must be a list');
    features.instances[k] = {
      elements: els.map((el, i) => ({
        attributes: strings(
          record(el, `${p}.elements[${i}]`)['attributes'],
          `${p}.elements[${i}].attributes`,
        ),
      })),
    };
  }
  return {
    name,
    namespace,
    node: objLabels[NODE_NAME_LABEL] ?? name,
    features,
    labels: strings(spec['labels'], `${at}spec.labels`),
  };
}

/** Adds `from` into `into`: flags union, attributes overwrite, instances append. */
export function mergeFeaturesInto(into: Features, from: Features): void {
  for (const [k, v] of Object.entries(from.flags)) {
    const t = (into.flags[k] ??= { elements: {} });
    for (const e of Object.keys(v.elements)) t.elements[e] = {};
  }
  for (const [k, v] of Object.entries(from.attributes)) {
    const t = (into.attributes[k] ??= { elements: {} });
    Object.assign(t.elements, v.elements);
  }
  for (const [k, v] of Object.entries(from.instances)) {
    const t = (into.instances[k] ??= { elements: [] });
    t.elements.push(...v.elements.map((el) => ({ attributes: { ...el.attributes } })));
  }
}

/**
 * Merges one node's NodeFeature objects as nfd-master does: objects in the master's namespace
 * first, then by name (then namespace); features merged in that order, and labels — each
 * object's given the default namespace first — overwrite earlier ones.
 */
export function mergeNodeFeatures(
  objects: readonly NodeFeatureObject[],
  masterNamespace: string,
): { features: Features; labels: Record<string, string> } {
  const sorted = [...objects].sort((a, b) => {
    const ao = a.namespace === masterNamespace;
    const bo = b.namespace === masterNamespace;
    if (ao !== bo) return ao ? -1 : 1;
    if (a.name !== b.name) return a.name < b.name ? -1 : 1;
    return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0;
  });
  const features = emptyFeatures();
  const labels: Record<string, string> = {};
  for (const o of sorted) {
    mergeFeaturesInto(features, o.features);
    Object.assign(labels, addDefaultNamespace(o.labels));
  }
  return { features, labels };
}
