/**
 * kernel: version, configuration (CONFIG_* options), loaded and enabled modules, SELinux.
 */
import { readFileSync } from 'node:fs';
import { join, present, readText, readTrim } from '../hostfs.js';
import type { HostPaths } from '../hostfs.js';
import { type DiscoverContext, registerSource } from '../source.js';
import { attributeSet, flagSet, type SourceFeatures } from '../types.js';

/** `5.14.0-284.30.1.el9_2.x86_64` → full, major 5, minor 14, revision 0. */
export function parseKernelVersion(full: string): Record<string, string> {
  const out: Record<string, string> = { full };
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(full);
  if (m) {
    out.major = m[1]!;
    if (m[2] !== undefined) out.minor = m[2];
    if (m[3] !== undefined) out.revision = m[3];
  }
  return out;
}

/** The places a kernel config is looked for, in upstream's order, after `kconfigFile`. */
function kconfigSearchPath(paths: HostPaths, version: string | undefined): string[] {
  const { proc, usr, lib, boot } = paths;
  if (version === undefined) return [join(proc, 'config.gz'), join(usr, 'src/linux/.config')];
  return [
    join(proc, 'config.gz'),
    join(usr, `src/linux-${version}/.config`),
    join(usr, 'src/linux/.config'),
    join(usr, `lib/modules/${version}/config`),
    join(usr, `lib/ostree-boot/config-${version}`),
    join(usr, `lib/kernel/config-${version}`),
    join(usr, `src/linux-headers-${version}/.config`),
    join(lib, `modules/${version}/build/.config`),
    join(boot, `config-${version}`),
  ];
}

function readConfigFile(path: string): string | undefined {
  try {
    const raw = readFileSync(path);
    // zlib is loaded only for a compressed config: most hosts keep theirs in /boot.
    if (path.endsWith('.gz'))
      return process.getBuiltinModule('node:zlib').gunzipSync(raw).toString('utf8');
    return raw.toString('utf8');
  } catch {
    return undefined;
  }
}

/** `CONFIG_X=value` lines → {X: value}, surrounding quotes removed. */
export function parseKconfig(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('CONFIG_')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    out[line.slice(7, eq)] = line.slice(eq + 1).replace(/^"+|"+$/g, '');
  }
  return out;
}

/** Values as upstream's labels and legacy `kConfig` rules see them: `y` and `m` become `true`. */
export function legacyKconfig(real: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(real)) out[k] = v === 'y' || v === 'm' ? 'true' : v;
  return out;
}

export function parseModules(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.split(' ')[0]!.trim())
    .filter(Boolean);
}

/** `kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko` → `e1000e`. */
export function parseBuiltinModules(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.slice(l.lastIndexOf('/') + 1).replace(/\.ko(\.[a-z]+)?$/, ''));
}

function discoverKernel(ctx: DiscoverContext): SourceFeatures {
  const { paths } = ctx;
  const attributes: SourceFeatures['attributes'] = {};
  const flags: SourceFeatures['flags'] = {};
  const version = readTrim(join(paths.proc, 'sys/kernel/osrelease'));
  if (version) attributes.version = attributeSet(parseKernelVersion(version));
  else ctx.warn(`cannot read ${join(paths.proc, 'sys/kernel/osrelease')}: no kernel version`);

  const candidates = [ctx.config.sources.kernel.kconfigFile, ...kconfigSearchPath(paths, version)];
  let kconfig: string | undefined;
  for (const c of candidates) {
    if (!c) continue;
    kconfig = readConfigFile(c);
    if (kconfig !== undefined) break;
  }
  if (kconfig !== undefined) attributes.config = attributeSet(parseKconfig(kconfig));
  else ctx.warn(`no kernel config found in ${candidates.filter(Boolean).join(', ')}`);

  const modules = readText(join(paths.proc, 'modules'));
  const loaded = modules === undefined ? [] : parseModules(modules);
  if (modules !== undefined) flags.loadedmodule = flagSet(loaded);
  else ctx.warn(`cannot read ${join(paths.proc, 'modules')}: no loaded modules`);
  if (version) {
    const builtin = readText(join(paths.lib, `modules/${version}/modules.builtin`));
    if (builtin !== undefined)
      flags.enabledmodule = flagSet([...loaded, ...parseBuiltinModules(builtin)]);
  }

  // SELinux counts as enabled when it enforces; permissive or absent is `false`.
  const enforce = readTrim(join(paths.sys, 'fs/selinux/enforce'));
  attributes.selinux = attributeSet({ enabled: String(enforce?.startsWith('1') ?? false) });
  // KVM is usable when the kernel created its device (module kvm loaded or built in).
  attributes.kvm = attributeSet({
    enabled: String(present(join(paths.sys, 'devices/virtual/misc/kvm'))),
  });
  return { attributes, flags };
}

function kernelLabels(own: SourceFeatures, ctx: DiscoverContext): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(own.attributes?.version?.elements ?? {}))
    labels[`version.${k}`] = v;
  const legacy = legacyKconfig(own.attributes?.config?.elements ?? {});
  for (const opt of ctx.config.sources.kernel.configOpts) {
    if (legacy[opt] !== undefined) labels[`config.${opt}`] = legacy[opt]!;
  }
  if (own.attributes?.selinux?.elements.enabled === 'true') labels['selinux.enabled'] = 'true';
  return labels;
}

registerSource({ name: 'kernel', order: 0, discover: discoverKernel, labels: kernelLabels });
