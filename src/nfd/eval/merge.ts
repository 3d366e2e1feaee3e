import { DecodeError, decode } from '../../api/decode.js';
import { NODE_NAME_LABEL, NodeFeatureSchema, type NodeFeature } from '../../api/nfd.js';
import { stringMap } from '../../api/schema.js';
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
export { DecodeError as InvalidInputError };

const Labels = stringMap();

/** Checks a NodeFeature document and returns it normalised. `at` prefixes error paths. */
export function readNodeFeature(doc: unknown, at: string): NodeFeatureObject {
  let nf: NodeFeature;
  try {
    nf = decode(NodeFeatureSchema, doc, { required: false });
    decode(Labels, nf.metadata?.labels ?? {}, { at: 'metadata.labels' });
  } catch (e) {
    if (e instanceof DecodeError && at) throw new DecodeError(`${at}${e.path}`, e.detail);
    throw e;
  }
  const meta = nf.metadata ?? {};
  if (typeof meta.name !== 'string' || meta.name === '')
    throw new DecodeError(`${at}metadata.name`, 'is required');
  const f = nf.spec?.features ?? {};
  const features = emptyFeatures();
  for (const [k, v] of Object.entries(f.flags ?? {})) {
    const elements: Record<string, object> = {};
    for (const e of Object.keys(v?.elements ?? {})) elements[e] = {};
    features.flags[k] = { elements };
  }
  for (const [k, v] of Object.entries(f.attributes ?? {}))
    features.attributes[k] = { elements: { ...v?.elements } };
  for (const [k, v] of Object.entries(f.instances ?? {}))
    features.instances[k] = {
      elements: (v?.elements ?? []).map((el) => ({ attributes: { ...el?.attributes } })),
    };
  return {
    name: meta.name,
    namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
    node: meta.labels?.[NODE_NAME_LABEL] ?? meta.name,
    features,
    labels: { ...nf.spec?.labels },
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
