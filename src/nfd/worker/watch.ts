/**
 * Wakes the worker when its inputs change: the config file (ConfigMap mounts replace it through
 * a `..data` symlink swap, so its directory is watched), `features.d` and `custom.d`. The
 * topology updater uses it for its config file and the kubelet's state files.
 *
 * Every directory is watched by itself (inotify on Linux), the trees of `dirs` one directory at a
 * time: Node's `recursive` option on Linux polls the stat of every file every five seconds and can
 * miss a file written in the same clock tick as the directory was first looked at.
 */
import { type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export type ChangeKind = 'config' | 'files';

/** How deep and how many directories below a watched tree are followed. */
const MAX_DEPTH = 8;
const MAX_DIRS = 256;

interface Target {
  path: string;
  kind: ChangeKind;
  /** Only these names in the directory count (the config file and `..data`). */
  names?: Set<string>;
  recursive: boolean;
  /** While `path` is watched: a watcher per directory (`path` and, if recursive, those below). */
  dirs?: Map<string, FSWatcher>;
  /** The inode of `path` when it was first watched: a directory made anew needs new watchers. */
  ino?: number;
  /** Watches the nearest existing ancestor while `path` does not exist. */
  ancestor?: FSWatcher;
  ancestorPath?: string;
  ancestorIno?: number;
  /** A look over the tree is due (coalesces a burst of events). */
  verifyQueued?: boolean;
}

/** The inode of a directory, or undefined if `path` is no directory. */
function dirIno(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.isDirectory() ? st.ino : undefined;
  } catch {
    return undefined;
  }
}

/** The nearest existing ancestor of a missing path. */
function nearestExisting(path: string): string {
  let dir = dirname(path);
  while (dirIno(dir) === undefined && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The directories of the tree below `root` (not `root` itself), bounded, without symlinks. */
function subdirectories(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > MAX_DEPTH) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory() || out.length >= MAX_DIRS) continue;
      const sub = join(dir, e.name);
      out.push(sub);
      walk(sub, depth + 1);
    }
  };
  walk(root, 1);
  return out;
}

/** Coalesces a burst of events (an editor's write-rename, a ConfigMap's symlink swap). */
const SETTLE_MS = 150;

export class ChangeWatcher {
  private readonly targets: Target[];
  private pending = new Set<ChangeKind>();
  private wake: (() => void) | undefined;
  private closed = false;

  /**
   * `dirs` are watched with everything below them; `files` (e.g. the kubelet's checkpoint files)
   * through their directories, counting only events for those names.
   */
  constructor(a: { configFile?: string; dirs: string[]; files?: string[] }) {
    this.targets = a.dirs.map((path) => ({ path, kind: 'files' as const, recursive: true }));
    const byDir = new Map<string, Set<string>>();
    for (const f of a.files ?? []) {
      const names = byDir.get(dirname(f)) ?? new Set<string>();
      byDir.set(dirname(f), names.add(basename(f)));
    }
    for (const [path, names] of byDir)
      this.targets.push({ path, kind: 'files', names, recursive: false });
    if (a.configFile) {
      this.targets.push({
        path: dirname(a.configFile),
        kind: 'config',
        names: new Set([basename(a.configFile), '..data']),
        recursive: false,
      });
    }
    // What is there now is read by the first pass; only what changes after counts.
    for (const t of this.targets) this.arm(t);
  }

  /**
   * Starts watching targets that did not exist before, and follows those that were replaced or
   * grew new directories. A missing directory is waited for by watching its nearest existing
   * ancestor, so that creating `features.d` later is noticed too.
   *
   * Call it after each pass: a target that appeared since the last look (even during the pass,
   * before its ancestor's event arrived) counts as changed, since the pass may have missed it.
   */
  refresh(): void {
    for (const t of this.targets) {
      if (t.dirs) {
        this.verify(t);
        continue;
      }
      this.arm(t);
      if (t.dirs) this.changed(t.kind);
    }
  }

  private arm(t: Target): void {
    // A directory tree can be made faster than watchers are set: after each watcher, look again
    // whether the way has grown, and follow it (bounded by the depth of the path).
    for (let step = 0; step < 64 && !this.closed; step++) {
      if (t.dirs) return;
      if (this.watchTarget(t)) {
        t.ancestor?.close();
        t.ancestor = undefined;
        return;
      }
      const dir = nearestExisting(t.path);
      const ino = dirIno(dir);
      if (t.ancestor && t.ancestorPath === dir && t.ancestorIno === ino) return;
      t.ancestor?.close();
      t.ancestorPath = dir;
      t.ancestorIno = ino;
      t.ancestor = this.tryWatch(
        dir,
        () => {
          // Something appeared on the way: move closer (or onto the target itself).
          t.ancestor?.close();
          t.ancestor = undefined;
          this.arm(t);
          if (t.dirs) this.changed(t.kind);
        },
        () => (t.ancestor = undefined),
      );
      if (nearestExisting(t.path) === dir) return;
    }
  }

  /** Watches the target's directory (and its tree); false when it is not there. */
  private watchTarget(t: Target): boolean {
    const ino = dirIno(t.path);
    if (ino === undefined) return false;
    t.dirs = new Map();
    t.ino = ino;
    if (!this.watchDir(t, t.path)) {
      t.dirs = undefined;
      return false;
    }
    if (t.recursive) for (const d of subdirectories(t.path)) this.watchDir(t, d);
    return true;
  }

  private watchDir(t: Target, dir: string): boolean {
    const w = this.tryWatch(
      dir,
      (name) => {
        // In a directory of named files, other names do not count (the directory's own name, on
        // its removal, does).
        const other =
          t.names &&
          dir === t.path &&
          name !== null &&
          name !== basename(t.path) &&
          !t.names.has(name);
        if (other) return;
        this.changed(t.kind);
        this.verifySoon(t);
      },
      () => this.verifySoon(t),
    );
    if (w) t.dirs?.set(dir, w);
    return w !== undefined;
  }

  private verifySoon(t: Target): void {
    if (t.verifyQueued || this.closed) return;
    t.verifyQueued = true;
    setImmediate(() => {
      t.verifyQueued = false;
      if (this.closed || !t.dirs) return;
      this.verify(t);
    });
  }

  /**
   * A watched target that is gone or was made anew starts over (and counts as a change); in a
   * tree, new directories get watchers (their files may predate them: a change) and removed ones
   * lose theirs.
   */
  private verify(t: Target): void {
    if (dirIno(t.path) !== t.ino) {
      this.unwatch(t);
      this.arm(t);
      this.changed(t.kind);
      return;
    }
    if (!t.recursive || !t.dirs) return;
    const now = new Set(subdirectories(t.path));
    for (const [dir, w] of t.dirs) {
      if (dir !== t.path && !now.has(dir)) {
        w.close();
        t.dirs.delete(dir);
      }
    }
    let added = false;
    for (const dir of now) if (!t.dirs.has(dir)) added = this.watchDir(t, dir) || added;
    if (added) this.changed(t.kind);
  }

  private unwatch(t: Target): void {
    for (const w of t.dirs?.values() ?? []) w.close();
    t.dirs = undefined;
    t.ino = undefined;
  }

  private tryWatch(
    path: string,
    onEvent: (name: string | null) => void,
    onGone: () => void,
  ): FSWatcher | undefined {
    try {
      const w = watch(path, { persistent: true }, (_ev, name) =>
        onEvent(name === null ? null : String(name)),
      );
      // A watched directory that goes away may stop its watcher; the next look starts over.
      w.on('error', () => {
        w.close();
        onGone();
      });
      return w;
    } catch {
      return undefined;
    }
  }

  private changed(kind: ChangeKind): void {
    this.pending.add(kind);
    this.wake?.();
  }

  /**
   * Resolves with what changed, or an empty set when `timeoutMs` passed first (no timeout when
   * it is not positive) or the signal aborted.
   */
  async next(timeoutMs: number, signal?: AbortSignal): Promise<Set<ChangeKind>> {
    if (!this.pending.size) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        const timer = timeoutMs > 0 ? setTimeout(done, timeoutMs) : undefined;
        signal?.addEventListener('abort', done);
        this.wake = done;
        if (signal?.aborted) done();
      });
      if (this.pending.size) await new Promise((r) => setTimeout(r, SETTLE_MS));
    }
    const out = this.pending;
    this.pending = new Set();
    return out;
  }

  close(): void {
    this.closed = true;
    for (const t of this.targets) {
      this.unwatch(t);
      t.ancestor?.close();
      t.ancestor = undefined;
    }
    this.wake?.();
  }
}
