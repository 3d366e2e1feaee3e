import { realClock, type Clock } from './clock.js';

export interface ExpectationsOptions {
  /** How long a record stands without being observed before it lapses (ms) [5 min]. */
  ttlMs?: number;
  clock?: Clock;
}

interface Entry<T> {
  value: T;
  /** The resourceVersion of the cached object the write was computed from. */
  basedOn: string | undefined;
  at: number;
}

/**
 * Writes a controller made that its cache has not shown yet (kube-controller-manager's
 * ControllerExpectations). A reconcile reads the informer, and the informer lags behind the
 * controller's own writes: a pod just created is not listed, a node just patched still shows
 * the old labels. Without a record of the write, the next reconcile of that key would make it
 * again.
 *
 * - `expect(key, value, resourceVersion?)` after a write: `value` is what the controller wants
 *   to remember (the patch sent, the object created); `resourceVersion` is the version of the
 *   cached object the write was computed from, when there is one.
 * - `pending(key, resourceVersion?)` before acting: the value while the write is still
 *   unseen; undefined once it was observed, once the cache shows another version than the one
 *   the write was computed from (the write, or someone else's, has arrived: decide afresh), or
 *   once `ttlMs` has passed (a write whose event never comes must not block the key for ever;
 *   acting again is safe because writes are idempotent).
 * - `observed(key)` when the informer shows the write, or the key no longer matters.
 *
 * Keys are the caller's: one per object (`node`, `node|module`, a pod's uid) rather than
 * counts, so observing one object never satisfies another's expectation. Lapsed records are
 * swept as new ones arrive, so memory stays bounded by the writes of the last two TTLs.
 */
export class Expectations<T = true> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private lastSweep: number;

  constructor(opts: ExpectationsOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 5 * 60_000;
    this.clock = opts.clock ?? realClock;
    this.lastSweep = this.clock.now();
  }

  /** Records a write for `key` that the cache has not shown yet (replacing an earlier one). */
  expect(key: string, value: T, resourceVersion?: string): void {
    const now = this.clock.now();
    if (now - this.lastSweep >= this.ttlMs) this.sweep(now);
    this.entries.set(key, { value, basedOn: resourceVersion, at: now });
  }

  /**
   * The value recorded for `key` while its write is unseen. `resourceVersion`: the version the
   * cache shows now, compared with the one the write was computed from.
   */
  pending(key: string, resourceVersion?: string): T | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const lapsed = this.clock.now() - e.at >= this.ttlMs;
    const moved = e.basedOn !== undefined && e.basedOn !== resourceVersion;
    if (lapsed || moved) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /**
   * Milliseconds until the record for `key` lapses, or undefined when none stands. A lapse is
   * not an event: a reconcile that waits on a pending record must ask to look again by then,
   * or a write whose object vanished before the cache showed it holds the key for ever.
   */
  lapsesInMs(key: string): number | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    return Math.max(0, e.at + this.ttlMs - this.clock.now());
  }

  /** The cache has shown the write for `key` (or it no longer matters): forget it. */
  observed(key: string): void {
    this.entries.delete(key);
  }

  /** Records held, lapsed ones not yet swept included. */
  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, e] of this.entries) if (now - e.at >= this.ttlMs) this.entries.delete(k);
  }
}
