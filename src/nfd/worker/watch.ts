/**
 * Wakes the worker when its inputs change: the config file (ConfigMap mounts replace it through
 * a `..data` symlink swap, so its directory is watched), `features.d` and `custom.d`.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

export type ChangeKind = 'config' | 'files';

interface Target {
  path: string;
  kind: ChangeKind;
  /** Only these names in the directory count (the config file and `..data`). */
  names?: Set<string>;
  recursive: boolean;
  watcher?: FSWatcher;
}

/** Coalesces a burst of events (an editor's write-rename, a ConfigMap's symlink swap). */
const SETTLE_MS = 150;

export class ChangeWatcher {
  private readonly targets: Target[];
  private pending = new Set<ChangeKind>();
  private wake: (() => void) | undefined;

  constructor(a: { configFile?: string; dirs: string[] }) {
    this.targets = a.dirs.map((path) => ({ path, kind: 'files' as const, recursive: true }));
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

  /** Starts watching targets that did not exist before (a directory created later). */
  refresh(): void {
    for (const t of this.targets) {
      if (t.watcher) continue;
      try {
        t.watcher = watch(t.path, { recursive: t.recursive, persistent: true }, (_ev, name) => {
          if (t.names && name !== null && !t.names.has(String(name))) return;
          this.pending.add(t.kind);
          this.wake?.();
        });
        t.watcher.on('error', () => {
          t.watcher?.close();
          t.watcher = undefined;
        });
      } catch {
        // Not there (yet): the next refresh tries again.
      }
    }
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
      t.watcher = undefined;
    }
    this.wake?.();
  }
}
