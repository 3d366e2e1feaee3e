/**
 * system: os-release, the node name and DMI identification.
 */
import { join, readText, readTrim } from '../hostfs.js';
import { type DiscoverContext, registerSource } from '../source.js';
import { attributeSet, type SourceFeatures } from '../types.js';

/** os-release `KEY=value` lines (values optionally quoted) plus VERSION_ID.major/.minor. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let v = line.slice(eq + 1).trim();
    const q = v[0];
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
      v = v.slice(1, -1);
      if (q === '"') v = v.replace(/\\(["\\$`])/g, '$1');
    }
    out[line.slice(0, eq)] = v;
  }
  if (out.VERSION_ID !== undefined) {
    const [major, minor] = out.VERSION_ID.split('.');
    if (major) out['VERSION_ID.major'] = major;
    if (minor) out['VERSION_ID.minor'] = minor;
  }
  return out;
}

/** The world-readable files of `/sys/devices/virtual/dmi/id` (serials and UUIDs need root). */
const DMI_ATTRS = [
  'bios_date',
  'bios_vendor',
  'bios_version',
  'board_asset_tag',
  'board_name',
  'board_vendor',
  'board_version',
  'chassis_asset_tag',
  'chassis_type',
  'chassis_vendor',
  'chassis_version',
  'product_family',
  'product_name',
  'product_sku',
  'product_version',
  'sys_vendor',
];
const OS_RELEASE_LABELS = ['ID', 'VERSION_ID', 'VERSION_ID.major', 'VERSION_ID.minor'];

function discoverSystem(ctx: DiscoverContext): SourceFeatures {
  const { etc, usr, sys } = ctx.paths;
  const attributes: SourceFeatures['attributes'] = {};
  const text = readText(join(etc, 'os-release')) ?? readText(join(usr, 'lib/os-release'));
  if (text !== undefined) attributes.osrelease = attributeSet(parseOsRelease(text));
  else ctx.warn(`cannot read ${join(etc, 'os-release')}: no os-release features`);
  attributes.name = attributeSet({ nodename: ctx.nodeName });
  const dmi: Record<string, string> = {};
  for (const f of DMI_ATTRS) {
    const v = readTrim(join(sys, 'devices/virtual/dmi/id', f));
    if (v !== undefined) dmi[f] = v;
  }
  // Left out without DMI data (e.g. some virtual machines and arm64 boards), as upstream does.
  if (Object.keys(dmi).length) attributes.dmiid = attributeSet(dmi);
  return { attributes };
}

function systemLabels(own: SourceFeatures): Record<string, string> {
  const labels: Record<string, string> = {};
  const os = own.attributes?.osrelease?.elements ?? {};
  for (const k of OS_RELEASE_LABELS) if (os[k] !== undefined) labels[`os_release.${k}`] = os[k]!;
  return labels;
}

registerSource({ name: 'system', order: 0, discover: discoverSystem, labels: systemLabels });
