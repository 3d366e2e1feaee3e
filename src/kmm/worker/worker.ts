import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkWorkerConfig, inTreeModulesOf, type WorkerConfig } from './config.js';
import { WorkerError } from './errors.js';
import { firmwareOwner, installFirmware, removeFirmware } from './firmware.js';
import { failureHint, modprobeFailure, type ModprobeRunner } from './modprobe.js';
import {
  firmwarePaths,
  imagePath,
  inTreeToRemove,
  loadedModules,
  MODPROBE_CONFIG_DIRS,
  modprobeConfigPaths,
  modprobeLoadArgs,
  modprobeRemoveInTreeArgs,
  modprobeUnloadArgs,
  softdepConfig,
} from './plan.js';

/** Where the kernel takes its extra firmware search path from. */
export const FIRMWARE_CLASS_PATH = '/sys/module/firmware_class/parameters/path';

/** Firmware directory on the host when none is given (OpenShift's; firmware_class.path uses it). */
export const DEFAULT_FIRMWARE_HOST_PATH = '/var/lib/firmware';

/** What the worker touches, so that tests can point everything at a temporary directory. */
export interface WorkerEnv {
  /** The host's root as the worker sees it: /proc/modules, /sys and the firmware directory. */
  root: string;
  /** Where the image's files were unpacked (upstream: /tmp). */
  imageDir: string;
  /** The host firmware directory, a path on the host (below `root` for the worker). */
  firmwareHostPath: string;
  /** Write `firmwareHostPath` to firmware_class.path before loading. */
  setFirmwareClassPath: boolean;
  modprobe: ModprobeRunner;
  /** modprobe's default configuration directories that exist (for `-C`, see plan.ts). */
  modprobeConfigDirs?: readonly string[];
  log: (message: string) => void;
}

/** The default modprobe configuration directories present on this machine. */
async function existingModprobeConfigDirs(): Promise<string[]> {
  const found: string[] = [];
  const seen = new Set<string>();
  for (const d of MODPROBE_CONFIG_DIRS) {
    // /lib is /usr/lib on merged-/usr systems: read each directory once
    const real = await realpath(d).catch(() => undefined);
    if (real === undefined || seen.has(real)) continue;
    seen.add(real);
    found.push(d);
  }
  return found;
}

async function setFirmwareClassPath(env: WorkerEnv): Promise<void> {
  const file = join(env.root, FIRMWARE_CLASS_PATH);
  let current: string;
  try {
    current = await readFile(file, 'utf8');
  } catch (e) {
    throw new WorkerError(
      'FirmwareClassPathFailed',
      `could not read ${file}: ${(e as Error).message}; without it the kernel will not look for ` +
        `firmware in ${env.firmwareHostPath}`,
    );
  }
  // sysfs returns the value with a newline
  if (current.trim() === env.firmwareHostPath) return;
  try {
    await writeFile(file, env.firmwareHostPath);
  } catch (e) {
    throw new WorkerError(
      'FirmwareClassPathFailed',
      `could not write ${env.firmwareHostPath} to ${file}: ${(e as Error).message}`,
    );
  }
  env.log(`set firmware_class.path to ${env.firmwareHostPath} (was "${current.trim()}")`);
}

async function removeInTreeModules(cfg: WorkerConfig, env: WorkerEnv): Promise<void> {
  const wanted = inTreeModulesOf(cfg);
  if (!wanted.length) return;
  const procModules = join(env.root, '/proc/modules');
  let text: string;
  try {
    text = await readFile(procModules, 'utf8');
  } catch (e) {
    throw new WorkerError(
      'InTreeRemovalFailed',
      `could not read ${procModules} to find in-tree modules to remove: ${(e as Error).message}`,
    );
  }
  const present = inTreeToRemove(wanted, loadedModules(text));
  const absent = wanted.filter((m) => !present.includes(m));
  if (absent.length) env.log(`in-tree modules not loaded, nothing to remove: ${absent.join(', ')}`);
  if (!present.length) return;
  env.log(`removing in-tree modules: ${present.join(', ')}`);
  const r = await env.modprobe(modprobeRemoveInTreeArgs(present));
  if (r.code !== 0) {
    const f = modprobeFailure(r);
    throw new WorkerError(
      'InTreeRemovalFailed',
      `could not remove in-tree module ${f.module ?? present.join(', ')}: ${f.reason}`,
      { module: f.module ?? present.join(','), reason: f.reason },
    );
  }
}

function modprobeError(
  action: 'load' | 'unload',
  cfg: WorkerConfig,
  r: { code: number; stdout: string; stderr: string },
): WorkerError {
  const f = modprobeFailure(r);
  const module = cfg.modprobe.moduleName || f.module;
  const hint = failureHint(f.reason);
  const what = module ? `module ${module}` : 'modules (rawArgs)';
  const inner = f.module && f.module !== module ? ` (${f.module})` : '';
  return new WorkerError(
    'ModprobeFailed',
    `could not ${action} ${what}${inner}: ${f.reason}${hint ? `; ${hint}` : ''}`,
    { ...(module ? { module } : {}), reason: f.reason },
  );
}

/**
 * Loads a module as upstream's `worker kmod load`: firmware_class.path (if asked), in-tree
 * modules out, firmware in, then modprobe with softdeps for `modulesLoadingOrder`.
 */
export async function loadKmod(cfg: WorkerConfig, env: WorkerEnv): Promise<void> {
  checkWorkerConfig(cfg, 'load');
  const m = cfg.modprobe;
  // Every path into the image is checked (imagePath) before anything on the host changes.
  const fw = firmwarePaths(cfg, env);
  const modprobedDir =
    m.modprobedDir && !m.rawArgs
      ? imagePath(env.imageDir, m.modprobedDir, 'modprobe.modprobedDir')
      : undefined;
  const order = m.rawArgs ? [] : (m.modulesLoadingOrder ?? []);
  const tmp = order.length > 1 ? await mkdtemp(join(tmpdir(), 'kmm-worker-')) : undefined;
  try {
    const softdepFile = tmp ? join(tmp, 'softdep.conf') : undefined;
    if (softdepFile) await writeFile(softdepFile, softdepConfig(order));
    const configPaths = modprobeConfigPaths(
      env.modprobeConfigDirs ??
        (softdepFile || modprobedDir ? await existingModprobeConfigDirs() : []),
      { modprobedDir, softdepFile },
    );
    const args = modprobeLoadArgs(cfg, { imageDir: env.imageDir, configPaths });

    if (env.setFirmwareClassPath) await setFirmwareClassPath(env);
    await removeInTreeModules(cfg, env);
    const installed = fw
      ? await installFirmware(fw.source, fw.target, firmwareOwner(cfg))
      : undefined;
    if (fw && installed) {
      env.log(
        `firmware from ${fw.source} in ${fw.target}: ${installed.created.length} created, ` +
          `${installed.replaced.length} replaced, ${installed.unchanged.length} unchanged`,
      );
    }

    env.log(`running modprobe ${args.join(' ')}`);
    const r = await env.modprobe(args);
    if (r.code !== 0) {
      if (installed?.created.length) {
        env.log(`load failed: removing the ${installed.created.length} firmware files it copied`);
      }
      await installed?.rollback();
      throw modprobeError('load', cfg, r);
    }
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  env.log(`loaded ${m.moduleName || 'modules (rawArgs)'}`);
}

/**
 * Unloads a module as upstream's `worker kmod unload`: modprobe -r, then the firmware that the
 * load copied. A firmware clean-up problem is logged, not fatal: the module is already out, and
 * failing would make the controller run modprobe -r again and again.
 */
export async function unloadKmod(cfg: WorkerConfig, env: WorkerEnv): Promise<void> {
  checkWorkerConfig(cfg, 'unload');
  const args = modprobeUnloadArgs(cfg, { imageDir: env.imageDir });
  env.log(`running modprobe ${args.join(' ')}`);
  const r = await env.modprobe(args);
  if (r.code !== 0) throw modprobeError('unload', cfg, r);
  env.log(`unloaded ${cfg.modprobe.moduleName || 'modules (rawArgs)'}`);

  const fw = firmwarePaths(cfg, env);
  if (!fw) return;
  try {
    const removed = await removeFirmware(fw.source, fw.target, firmwareOwner(cfg));
    env.log(
      `removed ${removed.removed.length} firmware files and ${removed.removedDirs.length} ` +
        `directories from ${fw.target}` +
        (removed.fromManifest ? '' : " (no record of the load: matched the image's file names)"),
    );
  } catch (e) {
    env.log(`warning: could not remove all firmware from ${fw.target}: ${(e as Error).message}`);
  }
}
