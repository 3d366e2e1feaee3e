import { isAbsolute, join, relative, resolve } from 'node:path';
import { DEFAULT_DIR_NAME, type WorkerConfig } from './config.js';
import { WorkerError } from './errors.js';
import { quoteValue } from '../../runtime/quote.js';

/**
 * Pure decisions of the module loader: the modprobe command lines, the softdep configuration for
 * `modulesLoadingOrder`, and which in-tree modules are actually loaded.
 */

/**
 * A path of the image (dirName, firmwarePath, modprobedDir) inside the directory where the image
 * was unpacked. `..` may not climb out of it: the config comes from a Module, i.e. from a user.
 */
export function imagePath(imageDir: string, path: string, field: string): string {
  const full = resolve(imageDir, `./${path}`);
  const rel = relative(resolve(imageDir), full);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new WorkerError(
      'InvalidConfig',
      `${field}: ${quoteValue(path)} leaves the image's directory`,
    );
  }
  return full;
}

/** `softdep A pre: B` for each neighbouring pair: loading A first loads B, which loads C, … */
export function softdepConfig(order: readonly string[]): string {
  let out = '';
  for (let i = 0; i + 1 < order.length; i++) out += `softdep ${order[i]} pre: ${order[i + 1]}\n`;
  return out;
}

/** Options for the load command line beyond the config itself. */
export interface LoadCommandOptions {
  /** Where the image's files were unpacked (upstream: /tmp). */
  imageDir: string;
  /** modprobe configuration paths (`-C`), when the defaults are not enough. */
  configPaths?: readonly string[];
}

function configArgs(paths: readonly string[] | undefined): string[] {
  return (paths ?? []).flatMap((p) => ['-C', p]);
}

function modulesDir(cfg: WorkerConfig, imageDir: string): string {
  return imagePath(imageDir, cfg.modprobe.dirName || DEFAULT_DIR_NAME, 'modprobe.dirName');
}

/**
 * `modprobe -v -d <imageDir>/<dirName> [args.load] <moduleName> [parameters]`, or `rawArgs.load`
 * as given. Softdeps from `modulesLoadingOrder` come in through `configPaths`.
 */
export function modprobeLoadArgs(cfg: WorkerConfig, opts: LoadCommandOptions): string[] {
  const m = cfg.modprobe;
  if (m.rawArgs) return [...(m.rawArgs.load ?? [])];
  return [
    '-v',
    ...configArgs(opts.configPaths),
    '-d',
    modulesDir(cfg, opts.imageDir),
    ...(m.args?.load ?? []),
    m.moduleName ?? '',
    ...(m.parameters ?? []),
  ];
}

/**
 * `modprobe -r -v -d <imageDir>/<dirName> [args.unload] <moduleName> [the rest of the loading
 * order]`, or `rawArgs.unload`. Naming every module of the order removes them in the reverse of
 * the order they were loaded in, without relying on softdeps at removal time.
 */
export function modprobeUnloadArgs(cfg: WorkerConfig, opts: { imageDir: string }): string[] {
  const m = cfg.modprobe;
  if (m.rawArgs) return [...(m.rawArgs.unload ?? [])];
  return [
    '-r',
    '-v',
    '-d',
    modulesDir(cfg, opts.imageDir),
    ...(m.args?.unload ?? []),
    m.moduleName ?? '',
    ...(m.modulesLoadingOrder?.slice(1) ?? []),
  ];
}

/** Kernel module names are the same with `-` and `_`; the kernel reports `_`. */
function moduleKey(name: string): string {
  return name.replace(/-/g, '_');
}

/** Names of the loaded modules in a /proc/modules text. */
export function loadedModules(procModules: string): Set<string> {
  const out = new Set<string>();
  for (const line of procModules.split('\n')) {
    const name = line.split(' ', 1)[0];
    if (name) out.add(moduleKey(name));
  }
  return out;
}

/** The wanted in-tree modules that are loaded now; removing the others would only fail. */
export function inTreeToRemove(wanted: readonly string[], loaded: ReadonlySet<string>): string[] {
  return wanted.filter((name) => loaded.has(moduleKey(name)));
}

/** `modprobe -r -v <modules>`: in-tree modules come from the host's /lib/modules, so no -d. */
export function modprobeRemoveInTreeArgs(modules: readonly string[]): string[] {
  return ['-r', '-v', ...modules];
}

/** modprobe's own configuration locations, in its order of precedence. */
export const MODPROBE_CONFIG_DIRS = [
  '/etc/modprobe.d',
  '/run/modprobe.d',
  '/usr/local/lib/modprobe.d',
  '/usr/lib/modprobe.d',
  '/lib/modprobe.d',
];

/**
 * The `-C` paths for a load: given any `-C`, modprobe reads nothing else, so the default
 * locations that exist come first, then the image's modprobedDir, then the softdep file.
 */
export function modprobeConfigPaths(
  existingDefaults: readonly string[],
  extra: { modprobedDir?: string; softdepFile?: string },
): string[] {
  const own = [extra.modprobedDir, extra.softdepFile].filter((p): p is string => !!p);
  return own.length ? [...existingDefaults, ...own] : [];
}

/** The firmware source in the image and the host directory it goes to, below `root`. */
export function firmwarePaths(
  cfg: WorkerConfig,
  opts: { imageDir: string; root: string; firmwareHostPath: string },
): { source: string; target: string } | undefined {
  const fw = cfg.modprobe.firmwarePath;
  if (!fw) return undefined;
  return {
    source: imagePath(opts.imageDir, fw, 'modprobe.firmwarePath'),
    target: join(opts.root, opts.firmwareHostPath),
  };
}
