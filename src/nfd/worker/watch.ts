/**
 * Wakes the worker when its inputs change: the config file (ConfigMap mounts replace it through
 * a `..data` symlink swap, so its directory is watched), `features.d` and `custom.d`. The
 * topology updater uses it for its config file and the kubelet's state files.
 */
import { existsSync, type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

export type ChangeKind = 'config' | 'files';

interface Target {
  path: string;
  kind: ChangeKind;
  /** Only these names in the directory count (the config file and `..data`). */
  names?: Set<string>;
  recursive: boolean;
  watcher?: FSWatcher;
  /** Watches the nearest existing ancestor while `path` does not exist. */
  ancestor?: FSWatcher;
  ancestorPath?: string;
}

/** The nearest existing ancestor of a missing path. */
function nearestExisting(path: string): string {
  let dir = dirname(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Coalesces a burst of events (an editor's write-rename, a ConfigMap's symlink swap). */
const SETTLE_MS = 150;

export class ChangeWatcher {
  private readonly targets: Target[];
  private pending = new Set<ChangeKind>();
  private wake: (() => void) | undefined;

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
    this.refresh();
  }

  /**
   * Starts watching targets that did not exist before. A missing directory is waited for by
   * watching its nearest existing ancestor, so that creating `features.d` later is noticed too.
   */
  refresh(): void {
    for (const t of this.targets) this.arm(t);
  }

  private arm(t: Target): void {
    // A directory tree can be made faster than watchers are set: after each watcher, look again
    // whether the way has grown, and follow it (bounded by the depth of the path).
    for (let step = 0; step < 64; step++) {
      if (t.watcher) return;
      t.watcher = this.tryWatch(
        t.path,
        t.recursive,
        (name) => {
          if (t.names && name !== null && !t.names.has(name)) return;
          this.changed(t.kind);
        },
        () => (t.watcher = undefined),
      );
      if (t.watcher) {
        t.ancestor?.close();
        t.ancestor = undefined;
        return;
      }
      const dir = nearestExisting(t.path);
      if (t.ancestor && t.ancestorPath === dir) return;
      t.ancestor?.close();
      t.ancestorPath = dir;
      t.ancestor = this.tryWatch(
        dir,
        false,
        () => {
          // Something appeared on the way: move closer (or onto the target itself).
          t.ancestor?.close();
          t.ancestor = undefined;
          this.arm(t);
          if (t.watcher) this.changed(t.kind);
        },
        () => (t.ancestor = undefined),
      );
      if (nearestExisting(t.path) === dir) return;
    }
  }

  private tryWatch(
    path: string,
    recursive: boolean,
    onEvent: (name: string | null) => void,
    onGone: () => void,
  ): FSWatcher | undefined {
    try {
      const w = watch(path, { recursive, persistent: true }, (_ev, name) =>
        onEvent(name === null ? null : String(name)),
      );
      // A watched directory that goes away stops its watcher; the next refresh starts over.
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
    for (const t of this.targets) {
      t.watcher?.close();
      t.ancestor?.close();
      t.watcher = undefined;
      t.ancestor = undefined;
    }
    this.wake?.();
  }
}
