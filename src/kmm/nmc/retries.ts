import { ItemExponentialLimiter } from '../../runtime/index.js';

/**
 * When a node may try a module's load or unload again after it failed: the runtime's per-item
 * exponential limiter (first retry after `baseMs`, doubling per failure in a row up to `maxMs`)
 * keyed by node and module, and the time each wait ends. A success forgets the failures.
 */
export class WorkerRetries {
  private readonly limiter: ItemExponentialLimiter<string>;
  /** Per node: module key → when its next attempt may start. */
  private readonly until = new Map<string, Map<string, number>>();

  constructor(baseMs: number, maxMs: number) {
    this.limiter = new ItemExponentialLimiter<string>(baseMs, maxMs);
  }

  /** Records a failure of `key` on `node` at `now`. */
  failed(node: string, key: string, now: number): void {
    const wait = this.limiter.when(`${node}|${key}`);
    let m = this.until.get(node);
    if (!m) this.until.set(node, (m = new Map<string, number>()));
    m.set(key, now + wait);
  }

  /** `key` succeeded on `node` (or its failure was cleared): no more waiting. */
  succeeded(node: string, key: string): void {
    this.limiter.forget(`${node}|${key}`);
    const m = this.until.get(node);
    m?.delete(key);
    if (m?.size === 0) this.until.delete(node);
  }

  /** The node's modules still waiting at `now`, and how long until the first wait ends. */
  waiting(node: string, now: number): { keys: Set<string>; nextMs: number | undefined } {
    const keys = new Set<string>();
    let next = Infinity;
    for (const [key, at] of this.until.get(node) ?? []) {
      if (at <= now) continue;
      keys.add(key);
      next = Math.min(next, at - now);
    }
    return { keys, nextMs: next === Infinity ? undefined : next };
  }

  /** Forgets everything about a node (it is gone). */
  forgetNode(node: string): void {
    for (const key of this.until.get(node)?.keys() ?? []) this.limiter.forget(`${node}|${key}`);
    this.until.delete(node);
  }
}
