/**
 * network: interfaces backed by a device (`network.device`, with SR-IOV counts) and virtual ones
 * (`network.virtual`).
 */
import { join, listDir, present, readTrim } from '../hostfs.js';
import { type DiscoverContext, registerSource } from '../source.js';
import { instanceSet, type SourceFeatures } from '../types.js';

const DEVICE_ATTRS = ['operstate', 'speed', 'mtu', 'device/sriov_numvfs', 'device/sriov_totalvfs'];
const VIRTUAL_ATTRS = ['operstate', 'speed', 'mtu'];

function readIface(dir: string, name: string, files: string[]): Record<string, string> {
  const a: Record<string, string> = { name };
  for (const f of files) {
    // `speed` of a link that is down reads as EINVAL: left out, as upstream does.
    const v = readTrim(join(dir, f));
    if (v !== undefined) a[f.slice(f.lastIndexOf('/') + 1)] = v;
  }
  return a;
}

function discoverNetwork(ctx: DiscoverContext): SourceFeatures {
  const base = join(ctx.paths.sys, 'class/net');
  const ifaces = listDir(base);
  if (!ifaces) {
    ctx.warn(`cannot read ${base}: no network features`);
    return {};
  }
  const device: Record<string, string>[] = [];
  const virtual: Record<string, string>[] = [];
  for (const name of ifaces) {
    if (name === 'bonding_masters') continue;
    const dir = join(base, name);
    if (present(join(dir, 'device'))) device.push(readIface(dir, name, DEVICE_ATTRS));
    else virtual.push(readIface(dir, name, VIRTUAL_ATTRS));
  }
  return { instances: { device: instanceSet(device), virtual: instanceSet(virtual) } };
}

function networkLabels(own: SourceFeatures): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const d of own.instances?.device?.elements ?? []) {
    const a = d.attributes;
    if (Number(a.sriov_totalvfs) > 0) labels['sriov.capable'] = 'true';
    if (Number(a.sriov_numvfs) > 0) labels['sriov.configured'] = 'true';
  }
  return labels;
}

registerSource({ name: 'network', order: 0, discover: discoverNetwork, labels: networkLabels });
