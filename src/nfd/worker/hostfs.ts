/**
 * Where the worker reads the host from, and small synchronous readers for sysfs/procfs files.
 * Reads are synchronous on purpose: the files are tiny, kernel-backed and numerous, and one
 * discovery pass must stay in the low milliseconds.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Host directories as the worker sees them. Every path is absolute. */
export interface HostPaths {
  sys: string;
  proc: string;
  etc: string;
  boot: string;
  lib: string;
  usr: string;
  var: string;
  /** Devices: `cpu/N/cpuid` executes CPUID on a CPU. */
  dev: string;
  /** Local feature files (`features.d`). */
  featuresDir: string;
  /** Custom rule files (`custom.d`). */
  customDir: string;
}

const NFD_ETC_DIR = '/etc/kubernetes/node-feature-discovery';
export const DEFAULT_CONFIG_FILE = `${NFD_ETC_DIR}/nfd-worker.conf`;

const TOP = ['sys', 'proc', 'etc', 'boot', 'lib', 'usr', 'var', 'dev'] as const;

/**
 * `--host-root DIR` reads everything under DIR. Without it, each host directory mounted at
 * `/host-<name>` in a pod is used (otherwise the real one), while `features.d` and `custom.d`
 * stay at their container paths, where upstream's manifests mount them.
 */
export function resolveHostPaths(
  hostRoot: string | undefined,
  exists: (p: string) => boolean = existsSync,
): HostPaths {
  if (hostRoot !== undefined && hostRoot !== '') {
    const r = (p: string) => join(hostRoot, p);
    return {
      sys: r('sys'),
      proc: r('proc'),
      etc: r('etc'),
      boot: r('boot'),
      lib: r('lib'),
      usr: r('usr'),
      var: r('var'),
      dev: r('dev'),
      featuresDir: r(`${NFD_ETC_DIR}/features.d`),
      customDir: r(`${NFD_ETC_DIR}/custom.d`),
    };
  }
  const out = {} as Record<(typeof TOP)[number], string>;
  for (const t of TOP) out[t] = exists(`/host-${t}`) ? `/host-${t}` : `/${t}`;
  return { ...out, featuresDir: `${NFD_ETC_DIR}/features.d`, customDir: `${NFD_ETC_DIR}/custom.d` };
}

/** File content trimmed, or undefined when it cannot be read. */
export function readTrim(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Directory entries sorted by name, or undefined when the directory cannot be read. */
export function listDir(path: string): string[] | undefined {
  try {
    return readdirSync(path).sort();
  } catch {
    return undefined;
  }
}

export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** True when the path exists as a file, directory or symlink (even a dangling one). */
export function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export { join };
