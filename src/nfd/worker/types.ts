/**
 * The shapes discovery works with: the API's `Features` (the `spec.features` of a NodeFeature
 * object: flag sets, attribute maps and instance lists, keyed `<source>.<feature>`) and helpers
 * that build them.
 */
import type {
  AttributeFeatureSet,
  Features,
  FlagFeatureSet,
  InstanceFeatureSet,
} from '../../api/nfd.js';

export type { Features } from '../../api/nfd.js';
export { emptyFeatures } from '../rules/types.js';

export function flagSet(names: Iterable<string>): FlagFeatureSet {
  const elements: FlagFeatureSet['elements'] = {};
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
export type SourceFeatures = Partial<Features>;

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
