import { isKubeError, KubeError, errorFromResponse } from './client.js';
import type { ResourceClient, WatchEvent } from './api.js';
import { Backoff, sleep } from './clock.js';
import { silentLogger, type Logger } from './log.js';
import { objectKey, type KubeObject } from './objects.js';
import { apiVersionOf, typeName } from './resources.js';

/** The values an object is filed under in one index (e.g. a pod's spec.nodeName). */
export type Indexer<T> = (obj: T) => string[];

export interface EventHandler<T> {
  /** `initial` is true for objects of the first list (the cache filling up). */
  onAdd?(obj: T, initial: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** The last state the cache knew of the object. */
  onDelete?(obj: T): void;
}

/** What an informer reports, for metrics. */
export interface InformerObserver {
  objects?(n: number): void;
  relist?(): void;
  watchRestart?(reason: 'closed' | 'stalled' | 'error' | 'gone'): void;
  event?(type: string): void;
}

export interface InformerOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Cache PartialObjectMetadata only (labels, annotations, owners…): far less memory. */
  metadataOnly?: boolean;
  /**
   * Applied to every object before it is cached (after managedFields are stripped): drop what
   * no controller reads. It may change the object in place and must return it.
   */
  transform?: (obj: T) => T;
  indexers?: Record<string, Indexer<T>>;
  /** Objects per page when listing. */
  pageSize?: number;
  /**
   * The server is asked to end each watch after a random time in this range (seconds); then
   * we watch again from the last resourceVersion. Default 60–120 s.
   */
  watchTimeoutSeconds?: [number, number];
  /**
   * A watch the server has not ended this long after its timeout is presumed dead — a
   * half-open connection that will never deliver again — and is replaced. Default 30 s. (An
   * idle watch delivers nothing, not even bookmarks, when its kind does not change, so silence
   * alone proves nothing; a missed deadline does.)
   */
  stallGraceMs?: number;
  /** Backoff between failed lists/watches (client-go: 800 ms doubling to 30 s). */
  backoff?: { baseMs: number; capMs: number };
  log?: Logger;
  observer?: InformerObserver;
}

interface Status {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

/**
 * A cache of one kind kept current by list and watch, as client-go's shared informer: paged
 * lists, watches with bookmarks resumed from the last resourceVersion, a relist when the
 * apiserver answers 410 Gone, restarts with backoff, and replacement of stalled watches.
 * Objects are cached without managedFields and after the caller's transform; indexes answer
 * "which objects have value V" without a scan.
 */
export class Informer<T extends KubeObject = KubeObject> {
  readonly api: ResourceClient<T>;
  readonly options: InformerOptions<T>;
  private readonly store = new Map<string, T>();
  private readonly indexers = new Map<string, Indexer<T>>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly handlers = new Set<EventHandler<T>>();
  private rv = '';
  private synced = false;
  private syncWaiters: ((ok: boolean) => void)[] = [];
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly observer: InformerObserver;
  private readonly apiVersion: string;
  /** Counts, for tests and diagnostics. */
  readonly stats = { lists: 0, relistsAfterGone: 0, watches: 0, stalls: 0, errors: 0 };

  constructor(api: ResourceClient<T>, options: InformerOptions<T> = {}) {
    this.api = api;
    this.options = options;
    this.log = (options.log ?? silentLogger).child({
      logger: 'informer',
      kind: typeName(api.type),
    });
    this.observer = options.observer ?? {};
    this.apiVersion = apiVersionOf(api.type);
    for (const [name, fn] of Object.entries(options.indexers ?? {})) this.addIndexer(name, fn);
  }

  get name(): string {
    return typeName(this.api.type);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  /** The resourceVersion the cache is current to. */
  get resourceVersion(): string {
    return this.rv;
  }

  get size(): number {
    return this.store.size;
  }

  /**
   * Registers a handler. A handler added after the first sync is told of every cached object
   * at once (onAdd with initial = true), as client-go does, so late controllers miss nothing.
   * Returns a function that removes it.
   */
  addEventHandler(h: EventHandler<T>): () => void {
    this.handlers.add(h);
    if (this.synced) for (const o of this.store.values()) this.call(() => h.onAdd?.(o, true));
    return () => this.handlers.delete(h);
  }

  /** Adds an index; indexes the cached objects at once if there are any. */
  addIndexer(name: string, fn: Indexer<T>): void {
    if (this.indexers.has(name)) {
      if (this.indexers.get(name) !== fn) this.log.debug('index already defined', { index: name });
      return;
    }
    this.indexers.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indexes.set(name, idx);
    for (const [k, o] of this.store) this.indexOne(idx, fn, k, o);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  getByName(name: string, namespace?: string): T | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  keys(): string[] {
    return [...this.store.keys()];
  }

  /** Cached objects filed under `value` in index `name`. */
  byIndex(name: string, value: string): T[] {
    const idx = this.indexes.get(name);
    if (!idx) throw new Error(`informer ${this.name}: no index "${name}"`);
    const keys = idx.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.store.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** The values index `name` files objects under (e.g. every node some NodeFeature names). */
  indexedValues(name: string): string[] {
    const idx = this.indexes.get(name);
    if (!idx) throw new Error(`informer ${this.name}: no index "${name}"`);
    return [...idx.keys()];
  }

  /** Starts listing and watching in the background; a no-op if running. */
  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  /** Stops the watch; the cache keeps its last contents. */
  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
    for (const w of this.syncWaiters.splice(0)) w(false);
  }

  /** Resolves true once the first list is cached, false if stopped (or `signal` aborts) first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
        resolve(false);
      };
      const done = (ok: boolean) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      this.syncWaiters.push(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async run(signal: AbortSignal): Promise<void> {
    const b = this.options.backoff ?? { baseMs: 800, capMs: 30_000 };
    const backoff = new Backoff(b.baseMs, b.capMs);
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist(signal);
          needList = false;
        }
        const began = Date.now();
        const how = await this.watchOnce(signal);
        if (signal.aborted) break;
        this.observer.watchRestart?.(how);
        // A watch that ends at once every time (a proxy cutting it, say) must not spin.
        if (Date.now() - began < 1000) await sleep(backoff.next(), signal);
        else backoff.reset();
      } catch (e) {
        if (signal.aborted) break;
        if (isKubeError(e, 'Gone')) {
          // Our resourceVersion was compacted away: only a fresh list can tell what changed.
          this.log.info('resourceVersion too old; relisting', { resourceVersion: this.rv });
          this.stats.relistsAfterGone++;
          this.observer.watchRestart?.('gone');
          needList = true;
          continue;
        }
        this.stats.errors++;
        this.observer.watchRestart?.('error');
        const wait = backoff.next();
        this.log.warn(needList ? 'list failed' : 'watch failed', {
          error: e,
          retryInMs: Math.round(wait),
        });
        await sleep(wait, signal);
      }
    }
  }

  private prepare(obj: T): T {
    if (obj.metadata) delete obj.metadata.managedFields;
    // List items come without apiVersion and kind; owner references and events need them.
    if (!obj.kind) {
      obj.apiVersion = this.apiVersion;
      obj.kind = this.api.type.kind;
    }
    return this.options.transform ? this.options.transform(obj) : obj;
  }

  private async relist(signal: AbortSignal): Promise<void> {
    this.stats.lists++;
    if (this.stats.lists > 1) this.observer.relist?.();
    const fresh = new Map<string, T>();
    const { resourceVersion } = await this.api.listAll({
      namespace: this.options.namespace,
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      metadataOnly: this.options.metadataOnly,
      pageSize: this.options.pageSize ?? 500,
      signal,
      onPage: (items) => {
        for (const item of items) {
          const o = this.prepare(item);
          fresh.set(objectKey(o), o);
        }
      },
    });
    const initial = !this.synced;
    for (const [k, old] of [...this.store]) {
      if (!fresh.has(k)) this.remove(k, old);
    }
    for (const [k, o] of fresh) this.upsert(k, o, initial);
    this.rv = resourceVersion;
    this.observer.objects?.(this.store.size);
    if (!this.synced) {
      this.synced = true;
      this.log.info('synced', { objects: this.store.size, resourceVersion });
      for (const w of this.syncWaiters.splice(0)) w(true);
    }
  }

  private watchOnce(stop: AbortSignal): Promise<'closed' | 'stalled'> {
    const [lo, hi] = this.options.watchTimeoutSeconds ?? [60, 120];
    const timeoutSeconds = Math.max(1, Math.round(lo + Math.random() * (hi - lo)));
    const deadlineMs = timeoutSeconds * 1000 + (this.options.stallGraceMs ?? 30_000);
    const ac = new AbortController();
    const onStop = () => ac.abort();
    // An already aborted signal never fires 'abort': check it, or the watch would run on.
    if (stop.aborted) return Promise.resolve('closed');
    stop.addEventListener('abort', onStop, { once: true });
    let stalled = false;
    const timer = setTimeout(() => {
      stalled = true;
      ac.abort();
    }, deadlineMs);
    this.stats.watches++;
    const events = this.api.watch({
      namespace: this.options.namespace,
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      metadataOnly: this.options.metadataOnly,
      resourceVersion: this.rv,
      allowWatchBookmarks: true,
      timeoutSeconds,
      signal: ac.signal,
    });
    return (async () => {
      try {
        for await (const ev of events) this.apply(ev);
        return 'closed' as const;
      } catch (e) {
        if (stalled) {
          this.stats.stalls++;
          this.log.warn('watch outlived its timeout: connection presumed dead; replacing it', {
            timeoutSeconds,
          });
          return 'stalled' as const;
        }
        if (stop.aborted) return 'closed' as const;
        throw e;
      } finally {
        clearTimeout(timer);
        stop.removeEventListener('abort', onStop);
      }
    })();
  }

  private apply(ev: WatchEvent<T>): void {
    this.observer.event?.(ev.type);
    if (ev.type === 'ERROR') {
      const s = ev.object as unknown as Status;
      if (s.code === 410) throw new KubeError('Gone', 410, s.message ?? 'resourceVersion too old');
      throw errorFromResponse(s.code ?? 500, JSON.stringify(s), `watch ${this.name}`);
    }
    const rv = ev.object?.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) this.rv = rv;
      return;
    }
    const o = this.prepare(ev.object);
    const k = objectKey(o);
    if (ev.type === 'DELETED') {
      this.remove(k, o);
    } else {
      this.upsert(k, o, false);
    }
    if (rv) this.rv = rv;
    this.observer.objects?.(this.store.size);
  }

  private upsert(k: string, o: T, initial: boolean): void {
    const old = this.store.get(k);
    if (old && old.metadata.resourceVersion === o.metadata.resourceVersion) return;
    this.store.set(k, o);
    for (const [name, fn] of this.indexers) {
      const idx = this.indexes.get(name)!;
      if (old) this.unindexOne(idx, fn, k, old);
      this.indexOne(idx, fn, k, o);
    }
    for (const h of this.handlers) {
      if (old) this.call(() => h.onUpdate?.(old, o));
      else this.call(() => h.onAdd?.(o, initial));
    }
  }

  private remove(k: string, last: T): void {
    const had = this.store.get(k);
    if (!had) return;
    this.store.delete(k);
    for (const [name, fn] of this.indexers) this.unindexOne(this.indexes.get(name)!, fn, k, had);
    // The watch's final state is newer than the cached one (it carries the deletion timestamp).
    for (const h of this.handlers) this.call(() => h.onDelete?.(last));
  }

  private indexOne(idx: Map<string, Set<string>>, fn: Indexer<T>, k: string, o: T): void {
    for (const v of this.indexValues(fn, o)) {
      let s = idx.get(v);
      if (!s) idx.set(v, (s = new Set()));
      s.add(k);
    }
  }

  private unindexOne(idx: Map<string, Set<string>>, fn: Indexer<T>, k: string, o: T): void {
    for (const v of this.indexValues(fn, o)) {
      const s = idx.get(v);
      if (!s) continue;
      s.delete(k);
      if (s.size === 0) idx.delete(v);
    }
  }

  private indexValues(fn: Indexer<T>, o: T): string[] {
    try {
      return fn(o);
    } catch (e) {
      this.log.error('indexer failed', { error: e, object: objectKey(o) });
      return [];
    }
  }

  private call(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.log.error('event handler failed', { error: e });
    }
  }
}

/** Common indexers. */
export const indexers = {
  /** Pods (or anything with spec.nodeName) by the node they are bound to. */
  byNodeName: ((o: KubeObject & { spec?: { nodeName?: string } }) =>
    o.spec?.nodeName ? [o.spec.nodeName] : []) as Indexer<KubeObject>,
  /** Objects by the value of one label, e.g. NodeFeatures by nfd.node.kubernetes.io/node-name. */
  byLabel:
    (label: string): Indexer<KubeObject> =>
    (o) => {
      const v = o.metadata.labels?.[label];
      return v === undefined ? [] : [v];
    },
  byNamespace: ((o: KubeObject) =>
    o.metadata.namespace ? [o.metadata.namespace] : []) as Indexer<KubeObject>,
  /** Objects by the uid of each owner. */
  byOwnerUid: ((o: KubeObject) =>
    (o.metadata.ownerReferences ?? []).map((r) => r.uid)) as Indexer<KubeObject>,
};
