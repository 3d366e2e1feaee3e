/**
 * pci: one instance per PCI device; `pci-<fields>.present` labels for whitelisted classes.
 */
import { join, listDir, readTrim } from '../hostfs.js';
import { type DiscoverContext, registerSource } from '../source.js';
import { instanceSet, type SourceFeatures } from '../types.js';

const REQUIRED = ['class', 'vendor', 'device', 'subsystem_vendor', 'subsystem_device'];
const OPTIONAL = ['sriov_totalvfs', 'iommu_group/type', 'iommu/intel-iommu/version'];

/** Reads one device directory; undefined when a required file is missing. */
function readPciDevice(dir: string): Record<string, string> | undefined {
  const a: Record<string, string> = {};
  for (const f of REQUIRED) {
    const v = readTrim(join(dir, f));
    if (v === undefined) return undefined;
    const hex = v.replace(/^0x/, '');
    // The class file holds class, subclass and programming interface; upstream keeps 4 digits.
    a[f] = f === 'class' ? hex.slice(0, 4) : hex;
  }
  for (const f of OPTIONAL) {
    const v = readTrim(join(dir, f));
    if (v !== undefined) a[f] = v;
  }
  return a;
}

function discoverPci(ctx: DiscoverContext): SourceFeatures {
  const base = join(ctx.paths.sys, 'bus/pci/devices');
  const devs = listDir(base);
  if (!devs) {
    ctx.warn(`cannot read ${base}: no PCI features`);
    return {};
  }
  const out: Record<string, string>[] = [];
  for (const d of devs) {
    const a = readPciDevice(join(base, d));
    if (a) out.push(a);
    else ctx.warn(`PCI device ${d}: class, vendor, device or subsystem IDs unreadable; skipped`);
  }
  return { instances: { device: instanceSet(out) } };
}

/** `03` allows every subclass of class 03; `0300` only that subclass. */
export function classAllowed(cls: string, whitelist: string[]): boolean {
  return whitelist.some((w) => cls.startsWith(w.toLowerCase()));
}

export function pciLabels(own: SourceFeatures, ctx: DiscoverContext): Record<string, string> {
  const { deviceClassWhitelist, deviceLabelFields } = ctx.config.sources.pci;
  const labels: Record<string, string> = {};
  for (const d of own.instances?.device?.elements ?? []) {
    const a = d.attributes;
    if (!classAllowed(a.class ?? '', deviceClassWhitelist)) continue;
    const name = deviceLabelFields.map((f) => a[f] ?? '').join('_');
    labels[`${name}.present`] = 'true';
    if (a.sriov_totalvfs !== undefined) labels[`${name}.sriov.capable`] = 'true';
  }
  return labels;
}

registerSource({ name: 'pci', order: 0, discover: discoverPci, labels: pciLabels });
