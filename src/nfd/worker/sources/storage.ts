/**
 * storage: one instance per block device; `storage-nonrotationaldisk` when any is non-rotational.
 */
import { join, listDir, readTrim } from '../hostfs.js';
import { type DiscoverContext, registerSource } from '../source.js';
import { instanceSet, type SourceFeatures } from '../types.js';

const QUEUE_ATTRS = ['dax', 'rotational', 'nr_zones', 'zoned'];

function discoverStorage(ctx: DiscoverContext): SourceFeatures {
  const base = join(ctx.paths.sys, 'block');
  const devs = listDir(base);
  if (!devs) {
    ctx.warn(`cannot read ${base}: no storage features`);
    return {};
  }
  const out = devs.map((name) => {
    const a: Record<string, string> = { name };
    for (const f of QUEUE_ATTRS) {
      const v = readTrim(join(base, name, 'queue', f));
      if (v !== undefined) a[f] = v;
    }
    return a;
  });
  return { instances: { block: instanceSet(out) } };
}

function storageLabels(own: SourceFeatures): Record<string, string> {
  const any = (own.instances?.block?.elements ?? []).some((d) => d.attributes.rotational === '0');
  return any ? { nonrotationaldisk: 'true' } : {};
}

registerSource({ name: 'storage', order: 0, discover: discoverStorage, labels: storageLabels });
