/**
 * kernel: version, configuration (CONFIG_* options), loaded and enabled modules, SELinux.
 */
import { readFileSync } from 'node:fs';
import { gunzip } from '../../../runtime/gunzip.js';
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
    // Decoded in JavaScript: node:zlib would load the stream library for one 20 KB file.
    if (path.endsWith('.gz')) return gunzip(raw).toString('utf8');
    return raw.toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * `CONFIG_X=value` lines → {X: value}, surrounding quotes removed. Read line by line in place:
 * a config has thousands of lines, and splitting them first would allocate each one.
 */
export function parseKconfig(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (text.startsWith('CONFIG_', start)) {
      const eq = text.indexOf('=', start);
      if (eq >= 0 && eq < end) {
        let from = eq + 1;
        let to = end;
        while (from < to && text.charCodeAt(from) === 34) from++;
        while (to > from && text.charCodeAt(to - 1) === 34) to--;
        out[text.slice(start + 7, eq)] = text.slice(from, to);
      }
    }
    start = end + 1;
  }
  return out;
}

/** A value as upstream's labels and legacy `kConfig` rules see it: `y` and `m` become `true`. */
function legacyValue(v: string): string {
  return v === 'y' || v === 'm' ? 'true' : v;
}

/** Every value of a config as upstream's legacy `kConfig` rules see it (see legacyValue). */
export function legacyKconfig(real: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in real) out[k] = legacyValue(real[k]!);
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
  // The parsed object is the feature set's own (no copy: it has thousands of entries).
  if (kconfig !== undefined) attributes.config = { elements: parseKconfig(kconfig) };
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
  const config = own.attributes?.config?.elements ?? {};
  for (const opt of ctx.config.sources.kernel.configOpts) {
    const v = Object.hasOwn(config, opt) ? config[opt] : undefined;
    if (v !== undefined) labels[`config.${opt}`] = legacyValue(v);
  }
  if (own.attributes?.selinux?.elements.enabled === 'true') labels['selinux.enabled'] = 'true';
  return labels;
}

registerSource({ name: 'kernel', order: 0, discover: discoverKernel, labels: kernelLabels });
