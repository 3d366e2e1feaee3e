import { realClock, type Clock } from './clock.js';

/** Decides how long an item waits before it is retried. */
export interface RateLimiter<K> {
  when(item: K): number;
  forget(item: K): void;
  retries(item: K): number;
}

/** Per-item exponential backoff: base·2^failures, capped (client-go's default 5 ms … 1000 s). */
export class ItemExponentialLimiter<K> implements RateLimiter<K> {
  private failures = new Map<K, number>();
  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {}

  when(item: K): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    // 2^n overflows to Infinity for large n, which the cap absorbs.
    return Math.min(this.maxMs, this.baseMs * 2 ** n);
  }
  forget(item: K): void {
    this.failures.delete(item);
  }
  retries(item: K): number {
    return this.failures.get(item) ?? 0;
  }
}

/** A global token bucket: `qps` tokens per second, at most `burst` saved up. */
export class BucketLimiter<K> implements RateLimiter<K> {
  private tokens: number;
  private last: number;
  constructor(
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly clock: Clock = realClock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  when(_item: K): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }
  forget(_item: K): void {}
  retries(_item: K): number {
    return 0;
  }
}

/** The longest delay of several limiters (controller-runtime combines per-item and bucket). */
export class MaxOfLimiter<K> implements RateLimiter<K> {
  private readonly limiters: RateLimiter<K>[];
  constructor(...limiters: RateLimiter<K>[]) {
    this.limiters = limiters;
  }
  when(item: K): number {
    return Math.max(...this.limiters.map((l) => l.when(item)));
  }
  forget(item: K): void {
    for (const l of this.limiters) l.forget(item);
  }
  retries(item: K): number {
    return Math.max(...this.limiters.map((l) => l.retries(item)));
  }
}

/** controller-runtime's default: per-item 5 ms … 1000 s, and 10 qps with a burst of 100 overall. */
export function defaultControllerRateLimiter<K>(clock: Clock = realClock): RateLimiter<K> {
  return new MaxOfLimiter<K>(
    new ItemExponentialLimiter<K>(5, 1_000_000),
    new BucketLimiter<K>(10, 100, clock),
  );
}

/** What a queue reports, for metrics. */
export interface QueueObserver {
  add?(): void;
  depth?(n: number): void;
  /** Seconds an item waited between add and get. */
  queueLatency?(seconds: number): void;
  /** Seconds between get and done. */
  workDuration?(seconds: number): void;
  retry?(): void;
}

export interface WorkQueueOptions<K> {
  rateLimiter?: RateLimiter<K>;
  clock?: Clock;
  observer?: QueueObserver;
}

/**
 * A keyed, deduplicating work queue with client-go's semantics: an item added many times
 * before a worker takes it is handed out once; an item being processed is never handed to a
 * second worker — adds during processing mark it dirty and it is queued again on done().
 * Delayed and rate-limited adds wait in a timer heap.
 */
export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private head = 0;
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly addedAt = new Map<K, number>();
  private readonly startedAt = new Map<K, number>();
  private readonly waiting = new Map<K, number>();
  private timer: unknown;
  private timerAt = Infinity;
  private readonly getters: ((k: K | undefined) => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;
  readonly rateLimiter: RateLimiter<K>;
  private readonly clock: Clock;
  private readonly observer: QueueObserver;

  constructor(opts: WorkQueueOptions<K> = {}) {
    this.clock = opts.clock ?? realClock;
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>(this.clock);
    this.observer = opts.observer ?? {};
  }

  /** Items ready to be handed out. */
  get length(): number {
    return this.queue.length - this.head;
  }

  get shuttingDown(): boolean {
    return this.stopped;
  }

  add(item: K): void {
    if (this.stopped) return;
    this.observer.add?.();
    if (this.dirty.has(item)) return;
    this.dirty.add(item);
    this.addedAt.set(item, this.clock.now());
    if (this.processing.has(item)) return;
    this.push(item);
  }

  private push(item: K): void {
    const getter = this.getters.shift();
    if (getter) {
      this.take(item);
      getter(item);
      return;
    }
    this.queue.push(item);
    this.observer.depth?.(this.length);
  }

  private take(item: K): void {
    this.observer.depth?.(this.length);
    this.dirty.delete(item);
    this.processing.add(item);
    const now = this.clock.now();
    const at = this.addedAt.get(item);
    if (at !== undefined) this.observer.queueLatency?.((now - at) / 1000);
    this.addedAt.delete(item);
    this.startedAt.set(item, now);
  }

  /** Adds `item` after `ms`; of several pending delayed adds of one item, the earliest wins. */
  addAfter(item: K, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(item);
    const at = this.clock.now() + ms;
    const cur = this.waiting.get(item);
    if (cur !== undefined && cur <= at) return;
    this.waiting.set(item, at);
    this.arm();
  }

  /** Adds `item` after the rate limiter's delay (a retry after failure). */
  addRateLimited(item: K): void {
    this.observer.retry?.();
    this.addAfter(item, this.rateLimiter.when(item));
  }

  /** Clears the item's failure history (after a success). */
  forget(item: K): void {
    this.rateLimiter.forget(item);
  }

  numRequeues(item: K): number {
    return this.rateLimiter.retries(item);
  }

  private arm(): void {
    let earliest = Infinity;
    for (const at of this.waiting.values()) if (at < earliest) earliest = at;
    if (earliest === this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = earliest;
    if (earliest === Infinity) return;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.fire();
      },
      Math.max(0, earliest - this.clock.now()),
    );
  }

  private fire(): void {
    const now = this.clock.now();
    for (const [item, at] of [...this.waiting]) {
      if (at <= now) {
        this.waiting.delete(item);
        this.add(item);
      }
    }
    this.arm();
  }

  /** The next item, waiting if there is none; undefined once the queue is shut down. */
  get(): Promise<K | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    if (this.length > 0) {
      const item = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.take(item);
      return Promise.resolve(item);
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks the item processed; if it was added meanwhile, it is queued again. */
  done(item: K): void {
    this.processing.delete(item);
    const started = this.startedAt.get(item);
    if (started !== undefined) this.observer.workDuration?.((this.clock.now() - started) / 1000);
    this.startedAt.delete(item);
    if (this.dirty.has(item) && !this.stopped) this.push(item);
    if (this.processing.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Seconds of work in progress summed over the items being processed (a stuck worker shows). */
  unfinishedWorkSeconds(): number {
    const now = this.clock.now();
    let sum = 0;
    for (const t of this.startedAt.values()) sum += now - t;
    return sum / 1000;
  }

  /** Seconds the longest-running item has been processed. */
  longestRunningSeconds(): number {
    const now = this.clock.now();
    let max = 0;
    for (const t of this.startedAt.values()) max = Math.max(max, now - t);
    return max / 1000;
  }

  /** Whether a worker holds the item now. */
  isProcessing(item: K): boolean {
    return this.processing.has(item);
  }

  /** Stops handing out items: waiting get() calls return undefined, delayed adds are dropped. */
  shutDown(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.clear();
    for (const g of this.getters.splice(0)) g(undefined);
  }

  /** Resolves once no item is being processed. */
  drained(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }
}
