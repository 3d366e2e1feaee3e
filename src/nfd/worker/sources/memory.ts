/**
 * memory: NUMA, swap, NVDIMM devices and huge pages.
 */
import { join, listDir, readText, readTrim } from '../hostfs.js';
import { type DiscoverContext, registerSource } from '../source.js';
import { attributeSet, instanceSet, type SourceFeatures } from '../types.js';

/** `2048` (kB) → `2Mi`, as Kubernetes prints the quantity in `hugepages-2Mi`. */
export function hugepageQuantity(kb: number): string {
  const units = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi'];
  let v = kb;
  let i = 0;
  while (v >= 1024 && v % 1024 === 0 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v}${units[i]}`;
}

function discoverMemory(ctx: DiscoverContext): SourceFeatures {
  const { sys, proc } = ctx.paths;
  const attributes: SourceFeatures['attributes'] = {};
  const nodes = listDir(join(sys, 'bus/node/devices'));
  if (nodes) {
    attributes.numa = attributeSet({
      is_numa: String(nodes.length > 1),
      node_count: String(nodes.length),
    });
  } else ctx.warn(`cannot read ${join(sys, 'bus/node/devices')}: no NUMA features`);

  const swaps = readText(join(proc, 'swaps'));
  if (swaps !== undefined) {
    // The first line is a header; any line after it is an active swap area.
    const lines = swaps.split('\n').filter((l) => l.trim() !== '').length;
    attributes.swap = attributeSet({ enabled: String(lines > 1) });
  } else ctx.warn(`cannot read ${join(proc, 'swaps')}: no swap feature`);

  const nv: Record<string, string>[] = [];
  for (const d of listDir(join(sys, 'bus/nd/devices')) ?? []) {
    const a: Record<string, string> = { name: d };
    for (const f of ['devtype', 'mode']) {
      const v = readTrim(join(sys, 'bus/nd/devices', d, f));
      if (v !== undefined) a[f] = v;
    }
    nv.push(a);
  }

  const hp: Record<string, string> = { enabled: 'false' };
  const hpDir = join(sys, 'kernel/mm/hugepages');
  for (const d of listDir(hpDir) ?? []) {
    const m = /^hugepages-(\d+)kB$/.exec(d);
    if (!m) continue;
    const total = readTrim(join(hpDir, d, 'nr_hugepages')) ?? '';
    hp[`hugepages-${hugepageQuantity(Number(m[1]))}`] = total;
    if (/^\d+$/.test(total) && Number(total) > 0) hp.enabled = 'true';
  }
  attributes.hugepages = attributeSet(hp);
  return { attributes, instances: { nv: instanceSet(nv) } };
}

function memoryLabels(own: SourceFeatures): Record<string, string> {
  const labels: Record<string, string> = {};
  if (own.attributes?.numa?.elements.is_numa === 'true') labels.numa = 'true';
  if (own.attributes?.swap?.elements.enabled === 'true') labels.swap = 'true';
  const nv = own.instances?.nv?.elements ?? [];
  if (nv.length) labels['nv.present'] = 'true';
  if (nv.some((d) => d.attributes.devtype === 'nd_dax')) labels['nv.dax'] = 'true';
  return labels;
}

registerSource({ name: 'memory', order: 0, discover: discoverMemory, labels: memoryLabels });
