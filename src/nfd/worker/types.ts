/**
 * The shapes discovery works with. `Features` is the `spec.features` of a NodeFeature object
 * (nfd.k8s-sigs.io/v1alpha1): flag sets, attribute maps and instance lists, keyed
 * `<source>.<feature>`.
 */

export interface FlagFeatureSet {
  elements: Record<string, Record<string, never>>;
}

export interface AttributeFeatureSet {
  elements: Record<string, string>;
}

export interface InstanceFeature {
  attributes: Record<string, string>;
}

export interface InstanceFeatureSet {
  elements: InstanceFeature[];
}

export interface Features {
  flags: Record<string, FlagFeatureSet>;
  attributes: Record<string, AttributeFeatureSet>;
  instances: Record<string, InstanceFeatureSet>;
}

export function emptyFeatures(): Features {
  return { flags: {}, attributes: {}, instances: {} };
}

export function flagSet(names: Iterable<string>): FlagFeatureSet {
  const elements: Record<string, Record<string, never>> = {};
  for (const n of names) elements[n] = {};
  return { elements };
}

export function attributeSet(elements: Record<string, string>): AttributeFeatureSet {
  return { elements: { ...elements } };
}

export function instanceSet(list: Record<string, string>[]): InstanceFeatureSet {
  return { elements: list.map((attributes) => ({ attributes })) };
}

/** The features one source found, keyed by feature name without the source prefix. */
export interface SourceFeatures {
  flags?: Record<string, FlagFeatureSet>;
  attributes?: Record<string, AttributeFeatureSet>;
  instances?: Record<string, InstanceFeatureSet>;
}

/** Copies one source's features into `into` under `<source>.<feature>` keys. */
export function addSourceFeatures(into: Features, source: string, f: SourceFeatures): void {
  for (const [k, v] of Object.entries(f.flags ?? {})) into.flags[`${source}.${k}`] = v;
  for (const [k, v] of Object.entries(f.attributes ?? {})) into.attributes[`${source}.${k}`] = v;
  for (const [k, v] of Object.entries(f.instances ?? {})) into.instances[`${source}.${k}`] = v;
}

/** A problem found while discovering (discovery goes on without the feature), or a note. */
export interface DiscoveryWarning {
  source: string;
  message: string;
}
