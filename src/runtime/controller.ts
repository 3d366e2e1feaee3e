import { randomUUID } from 'node:crypto';
import type { InformerFactory, InformerRequest } from './factory.js';
import type { EventHandler } from './informer.js';
import { silentLogger, type Logger } from './log.js';
import type { RuntimeMetrics } from './metrics.js';
import { keyOf, parseKey, type KubeObject, type NamespacedName } from './objects.js';
import { and, type Predicate } from './predicates.js';
import { WorkQueue, type RateLimiter } from './queue.js';
import { typeName, type ResourceType } from './resources.js';

/** What to reconcile: the namespace (for namespaced kinds) and name of one object. */
export type Request = NamespacedName;

/** A reconcile's answer: nothing (done), or when to look again. */
export interface Result {
  /** Reconcile again after this many milliseconds (not counted as a failure). */
  requeueAfter?: number;
  /** Reconcile again after the rate limiter's backoff. */
  requeue?: boolean;
}

export interface ReconcileContext {
  log: Logger;
  /** Aborts when the manager stops; long reconciles should pass it to their requests. */
  signal: AbortSignal;
  /** Failures of this key since its last success. */
  retries: number;
}

/**
 * Brings the world in line with the object named by `req`, reading from caches. Throwing
 * means "try again with backoff"; returning {requeueAfter} means "look again then".
 */
export type Reconciler = (req: Request, ctx: ReconcileContext) => Promise<Result | void>;

export interface ControllerOptions {
  name: string;
  workers?: number;
  rateLimiter?: RateLimiter<string>;
  log?: Logger;
  metrics?: RuntimeMetrics;
  /**
   * Asked before each reconcile; false puts the key back for a second later. A manager with
   * leader election says whether it surely holds the lease, so that a leader resuming from a
   * pause acts on nothing its stale cache says before it learns whether it still leads.
   */
  mayReconcile?: () => boolean;
}

/**
 * Runs a reconciler over a work queue with N workers. The queue guarantees that one key is
 * never reconciled by two workers at once, and folds repeated events for a key into one run.
 */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue<string>;
  private readonly workers: number;
  private readonly log: Logger;
  private readonly metrics: RuntimeMetrics | undefined;
  private readonly mayReconcile: (() => boolean) | undefined;
  private running: Promise<void>[] = [];
  private abort: AbortController | undefined;

  constructor(
    opts: ControllerOptions,
    private readonly reconciler: Reconciler,
  ) {
    this.name = opts.name;
    this.workers = Math.max(1, opts.workers ?? 1);
    this.log = (opts.log ?? silentLogger).child({ controller: opts.name });
    this.metrics = opts.metrics;
    this.mayReconcile = opts.mayReconcile;
    this.queue = new WorkQueue<string>({
      rateLimiter: opts.rateLimiter,
      observer: opts.metrics?.queueObserver(opts.name),
    });
    opts.metrics?.watchQueue(opts.name, this.queue as WorkQueue<unknown>);
  }

  enqueue(req: Request): void {
    this.queue.add(keyOf(req));
  }

  get started(): boolean {
    return this.abort !== undefined;
  }

  /** Starts the workers. Items queued before start (from cache sync) are processed now. */
  start(): void {
    if (this.abort) return;
    this.abort = new AbortController();
    this.metrics?.maxConcurrent.set({ controller: this.name }, this.workers);
    this.metrics?.activeWorkers.set({ controller: this.name }, 0);
    this.log.info('Starting workers', { workerCount: this.workers });
    for (let i = 0; i < this.workers; i++) this.running.push(this.work(this.abort.signal));
  }

  /** Stops handing out keys and waits for reconciles in progress to finish. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    this.abort?.abort();
    await Promise.all(this.running);
    this.running = [];
    this.log.info('All workers finished');
  }

  private async work(signal: AbortSignal): Promise<void> {
    const labels = { controller: this.name };
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      if (this.mayReconcile && !this.mayReconcile()) {
        this.queue.done(key);
        this.queue.addAfter(key, 1000);
        continue;
      }
      const req = parseKey(key);
      const log = this.log.child({
        ...(req.namespace ? { namespace: req.namespace } : {}),
        name: req.name,
        reconcileID: randomUUID(),
      });
      this.metrics?.activeWorkers.inc(labels);
      const end = this.metrics?.reconcileTime.startTimer(labels);
      try {
        const r = await this.reconciler(req, {
          log,
          signal,
          retries: this.queue.numRequeues(key),
        });
        if (r?.requeueAfter !== undefined && r.requeueAfter > 0) {
          this.queue.forget(key);
          this.queue.addAfter(key, r.requeueAfter);
          this.metrics?.reconcileTotal.inc({ ...labels, result: 'requeue_after' });
        } else if (r?.requeue) {
          this.queue.addRateLimited(key);
          this.metrics?.reconcileTotal.inc({ ...labels, result: 'requeue' });
        } else {
          this.queue.forget(key);
          this.metrics?.reconcileTotal.inc({ ...labels, result: 'success' });
        }
      } catch (e) {
        this.queue.addRateLimited(key);
        this.metrics?.reconcileErrors.inc(labels);
        this.metrics?.reconcileTotal.inc({ ...labels, result: 'error' });
        log.error('Reconciler error', { error: e, retries: this.queue.numRequeues(key) });
      } finally {
        end?.();
        this.metrics?.activeWorkers.dec(labels);
        this.queue.done(key);
      }
    }
  }
}

/** What a controller builder needs from its manager. */
export interface ControllerHost {
  readonly informers: InformerFactory;
  readonly log: Logger;
  readonly metrics?: RuntimeMetrics;
  /** False while the host may not act as leader (see ControllerOptions.mayReconcile). */
  readonly isLeader?: boolean;
  addController(c: Controller): void;
}

export interface WatchOptions<T extends KubeObject> {
  predicates?: Predicate<T>[];
  /** Options for the shared informer (metadataOnly, transform, indexers, selectors). */
  informer?: InformerRequest<T>;
}

/**
 * Turns events into requests. On update, `oldToo` also maps the old object — for owned and
 * watched kinds, whose owner or mapping may have changed; the For kind's key cannot change.
 */
function handler<T extends KubeObject>(
  ps: Predicate<T>[],
  map: (o: T) => Request[],
  enqueue: (r: Request) => void,
  oldToo: boolean,
): EventHandler<T> {
  const p = and(...ps);
  const each = (o: T) => {
    for (const r of map(o)) enqueue(r);
  };
  return {
    onAdd: (o) => p.create(o) && each(o),
    onUpdate: (o, n) => {
      if (!p.update(o, n)) return;
      if (oldToo) each(o);
      each(n);
    },
    onDelete: (o) => p.delete(o) && each(o),
  };
}

/**
 * Declares a controller: the kind it reconciles, the kinds it owns (events on them reconcile
 * their controlling owner), other kinds it watches with a map to requests, and predicates.
 *
 *   mgr.controller('module').for(Modules).owns(DaemonSets).watches(Nodes, nodeToModules)
 *      .complete(reconcile)
 *
 * for() may be left out when every request comes from watches() (a controller of objects it
 * reads when it reconciles them rather than watching them).
 */
export class ControllerBuilder<P extends KubeObject = KubeObject> {
  private forType: ResourceType<P> | undefined;
  private readonly wiring: ((enqueue: (r: Request) => void) => void)[] = [];
  private workerCount = 1;
  private limiter: RateLimiter<string> | undefined;

  constructor(
    private readonly host: ControllerHost,
    private readonly name: string,
  ) {}

  /** The kind this controller reconciles: every event on it enqueues that object. */
  for<T extends KubeObject>(
    type: ResourceType<T>,
    opts: WatchOptions<T> = {},
  ): ControllerBuilder<T> {
    const self = this as unknown as ControllerBuilder<T>;
    self.forType = type;
    const inf = this.host.informers.informer(type, opts.informer);
    self.wiring.push((enqueue) =>
      inf.addEventHandler(
        handler(
          opts.predicates ?? [],
          (o) => [{ namespace: o.metadata.namespace, name: o.metadata.name! }],
          enqueue,
          false,
        ),
      ),
    );
    return self;
  }

  /** A kind this controller creates: events enqueue the controlling owner of kind For. */
  owns<T extends KubeObject>(type: ResourceType<T>, opts: WatchOptions<T> = {}): this {
    const inf = this.host.informers.informer(type, opts.informer);
    this.wiring.push((enqueue) => {
      const owner = this.forType;
      if (!owner) throw new Error(`controller ${this.name}: call for() before owns()`);
      const group = owner.group;
      const map = (o: T): Request[] =>
        (o.metadata.ownerReferences ?? [])
          .filter(
            (r) =>
              r.controller === true &&
              r.kind === owner.kind &&
              (r.apiVersion.includes('/') ? r.apiVersion.split('/')[0] : '') === group,
          )
          .map((r) => ({
            namespace: owner.namespaced ? o.metadata.namespace : undefined,
            name: r.name,
          }));
      inf.addEventHandler(handler(opts.predicates ?? [], map, enqueue, true));
    });
    return this;
  }

  /** Any other kind; `map` turns one of its objects into the requests to reconcile. */
  watches<T extends KubeObject>(
    type: ResourceType<T>,
    map: (obj: T) => Request[],
    opts: WatchOptions<T> = {},
  ): this {
    const inf = this.host.informers.informer(type, opts.informer);
    this.wiring.push((enqueue) =>
      inf.addEventHandler(handler(opts.predicates ?? [], map, enqueue, true)),
    );
    return this;
  }

  /** Workers reconciling different keys in parallel (default 1). */
  workers(n: number): this {
    this.workerCount = n;
    return this;
  }

  rateLimiter(l: RateLimiter<string>): this {
    this.limiter = l;
    return this;
  }

  complete(reconciler: Reconciler): Controller {
    if (!this.wiring.length) {
      throw new Error(`controller ${this.name}: nothing to reconcile; call for() or watches()`);
    }
    const c = new Controller(
      {
        name: this.name,
        workers: this.workerCount,
        rateLimiter: this.limiter,
        log: this.host.log,
        metrics: this.host.metrics,
        mayReconcile: () => this.host.isLeader !== false,
      },
      reconciler,
    );
    for (const wire of this.wiring) wire((r) => c.enqueue(r));
    this.host.addController(c);
    this.host.log.debug('controller registered', {
      controller: this.name,
      for: this.forType ? typeName(this.forType) : undefined,
    });
    return c;
  }
}
