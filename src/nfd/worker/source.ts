/**
 * The interface every feature source implements, and the registry sources add themselves to
 * (as upstream's `source.Register`). Adding a source is one file in `sources/` plus one import
 * line in `sources/index.ts`.
 */
import type { WorkerConfig } from './config.js';
import type { HostPaths } from './hostfs.js';
import type { Features, SourceFeatures } from './types.js';

export interface DiscoverContext {
  paths: HostPaths;
  config: WorkerConfig;
  nodeName: string;
  now: Date;
  /** Features found so far by the sources that ran before this one. */
  features: Features;
  warn(message: string): void;
  /** How a feature was found, where several ways exist (logged, not published). */
  note(message: string): void;
}

export interface FeatureSource {
  name: string;
  /** Sources run in ascending order; custom runs last because it reads every other source. */
  order: number;
  discover(ctx: DiscoverContext): SourceFeatures | Promise<SourceFeatures>;
  /**
   * Labels from this source's features, named without the `feature.node.kubernetes.io/<source>-`
   * prefix unless `rawLabels` is set.
   */
  labels(
    own: SourceFeatures,
    ctx: DiscoverContext,
  ): Record<string, string> | Promise<Record<string, string>>;
  /** Labels are published exactly as written (local and custom). */
  rawLabels?: boolean;
}

const registry = new Map<string, FeatureSource>();

export function registerSource(s: FeatureSource): void {
  if (registry.has(s.name)) throw new Error(`feature source ${s.name} registered twice`);
  registry.set(s.name, s);
}

export function registeredSources(): FeatureSource[] {
  // Plain code-unit order: localeCompare would load ICU's collator into every worker start.
  return [...registry.values()].sort(
    (a, b) => a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}
