import { createHash } from 'node:crypto';
import {
  copyFile,
  lstat,
  mkdir,
  readFile,
  readdir,
  readlink,
  rename,
  rm,
  rmdir,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { WorkerConfig } from './config.js';
import { WorkerError } from './errors.js';

/**
 * Firmware copied from the image to the host's firmware directory, and removed again on unload.
 *
 * Upstream deletes, on unload, every host file whose name matches a file of the image, which also
 * deletes firmware that was there before and that another driver may use. We record what a load
 * actually created in a small manifest next to the firmware (`.kmm-worker/<module>.json`) and
 * remove exactly that, plus the directories the load created once they are empty.
 */

export const MANIFEST_DIR = '.kmm-worker';

interface Manifest {
  /** Paths relative to the firmware directory that loads of this module wrote. */
  files: string[];
  /** Directories those loads created. */
  dirs: string[];
}

/** The manifest name for a config: its module, or a digest when only rawArgs name it. */
export function firmwareOwner(cfg: WorkerConfig): string {
  const m = cfg.modprobe;
  if (m.moduleName) return m.moduleName.replace(/[^A-Za-z0-9._-]/g, '_');
  const digest = createHash('sha256')
    .update(JSON.stringify([m.firmwarePath ?? '', m.rawArgs?.load ?? []]))
    .digest('hex');
  return `raw-${digest.slice(0, 16)}`;
}

function manifestFile(target: string, owner: string): string {
  return join(target, MANIFEST_DIR, `${owner}.json`);
}

async function readManifest(target: string, owner: string): Promise<Manifest | undefined> {
  try {
    const m = JSON.parse(await readFile(manifestFile(target, owner), 'utf8')) as Partial<Manifest>;
    return { files: m.files ?? [], dirs: m.dirs ?? [] };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function writeManifest(target: string, owner: string, m: Manifest): Promise<void> {
  const file = manifestFile(target, owner);
  await mkdir(dirname(file), { recursive: true });
  // write-then-rename: a crash must not leave half a manifest (and unremovable firmware)
  await writeFile(`${file}.tmp`, JSON.stringify(m, null, 2) + '\n');
  await rename(`${file}.tmp`, file);
}

async function statOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([readFile(a), readFile(b)]);
  return x.equals(y);
}

export interface FirmwareInstall {
  /** Files that did not exist and were created. */
  created: string[];
  /** Files that existed with other content and were replaced. */
  replaced: string[];
  /** Files that were already there, identical. */
  unchanged: string[];
  /** Directories created. */
  createdDirs: string[];
  /** Undoes this load's creations (a failed modprobe must not leave firmware behind). */
  rollback(): Promise<void>;
}

/** Copies the tree `source` into `target`, as `cp -R source/* target/` would, and records it. */
export async function installFirmware(
  source: string,
  target: string,
  owner: string,
): Promise<FirmwareInstall> {
  const srcStat = await statOrUndefined(source);
  if (!srcStat?.isDirectory()) {
    throw new WorkerError(
      'FirmwareFailed',
      `modprobe.firmwarePath: ${source} is not a directory of the image; ` +
        'the image must hold the firmware files there',
    );
  }
  const before = await readManifest(target, owner);
  const r = { created: [] as string[], replaced: [] as string[], unchanged: [] as string[] };
  const createdDirs: string[] = [];
  await mkdir(target, { recursive: true });

  const walk = async (rel: string): Promise<void> => {
    const entries = (await readdir(join(source, rel), { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    for (const e of entries) {
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      const src = join(source, relPath);
      const dst = join(target, relPath);
      const existing = await statOrUndefined(dst);
      if (e.isDirectory()) {
        if (!existing) {
          await mkdir(dst);
          createdDirs.push(relPath);
        } else if (!existing.isDirectory()) {
          throw new WorkerError('FirmwareFailed', `${dst} exists and is not a directory`);
        }
        await walk(relPath);
      } else if (e.isSymbolicLink()) {
        // firmware trees (linux-firmware) link names to files; copy links as links, like cp -R
        const link = await readlink(src);
        if (existing?.isSymbolicLink() && (await readlink(dst)) === link) {
          r.unchanged.push(relPath);
          continue;
        }
        if (existing) await rm(dst, { recursive: true, force: true });
        await symlink(link, dst);
        (existing ? r.replaced : r.created).push(relPath);
      } else if (e.isFile()) {
        if (existing?.isFile() && (await sameFile(src, dst))) {
          r.unchanged.push(relPath);
          continue;
        }
        if (existing && !existing.isFile()) await rm(dst, { recursive: true, force: true });
        await copyFile(src, dst);
        (existing ? r.replaced : r.created).push(relPath);
      }
    }
  };
  try {
    await walk('');
  } catch (e) {
    if (e instanceof WorkerError) throw e;
    throw new WorkerError(
      'FirmwareFailed',
      `could not copy firmware from ${source} to ${target}: ${(e as Error).message}`,
    );
  }

  // Files already recorded stay ours even when this load found them unchanged (a reload).
  const files = new Set([...(before?.files ?? []), ...r.created, ...r.replaced]);
  const dirs = new Set([...(before?.dirs ?? []), ...createdDirs]);
  await writeManifest(target, owner, { files: [...files], dirs: [...dirs] });

  return {
    ...r,
    createdDirs,
    rollback: async () => {
      for (const f of r.created) await unlink(join(target, f)).catch(() => undefined);
      await removeEmptyDirs(target, createdDirs);
      if (before) await writeManifest(target, owner, before);
      else await removeManifest(target, owner);
    },
  };
}

async function removeEmptyDirs(target: string, dirs: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  // deepest first, so a parent is empty once its children are gone
  const byDepth = [...dirs].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const d of byDepth) {
    try {
      await rmdir(join(target, d));
      removed.push(d);
    } catch {
      // not empty (someone else's files) or already gone: leave it
    }
  }
  return removed;
}

async function removeManifest(target: string, owner: string): Promise<void> {
  await rm(manifestFile(target, owner), { force: true });
  await rmdir(join(target, MANIFEST_DIR)).catch(() => undefined);
}

/** Every file and directory below `dir`, relative to it (files include symlinks). */
async function listTree(dir: string): Promise<{ files: string[]; dirs: string[] }> {
  const out = { files: [] as string[], dirs: [] as string[] };
  const walk = async (rel: string) => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out.dirs.push(p);
        await walk(p);
      } else out.files.push(p);
    }
  };
  await walk('');
  return out;
}

export interface FirmwareRemoval {
  removed: string[];
  removedDirs: string[];
  /** Whether the list came from the manifest (else: the image's files, as upstream). */
  fromManifest: boolean;
}

/**
 * Removes the firmware a load installed: the manifest's files, else (firmware copied by another
 * loader) the files with the names of the image's files, as upstream does; then the now-empty
 * directories among them.
 */
export async function removeFirmware(
  source: string,
  target: string,
  owner: string,
): Promise<FirmwareRemoval> {
  const manifest = await readManifest(target, owner);
  let plan: { files: string[]; dirs: string[] };
  if (manifest) plan = manifest;
  else if ((await statOrUndefined(source))?.isDirectory()) plan = await listTree(source);
  else plan = { files: [], dirs: [] };
  const removed: string[] = [];
  for (const f of plan.files) {
    try {
      await unlink(join(target, f));
      removed.push(f);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  const removedDirs = await removeEmptyDirs(target, plan.dirs);
  if (manifest) await removeManifest(target, owner);
  return { removed, removedDirs, fromManifest: manifest !== undefined };
}
