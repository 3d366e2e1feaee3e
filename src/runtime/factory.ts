import { ResourceClient } from './api.js';
import type { KubeClient } from './client.js';
import { Informer, type InformerObserver, type InformerOptions } from './informer.js';
import { silentLogger, type Logger } from './log.js';
import type { KubeObject } from './objects.js';
import { typeName, type ResourceType } from './resources.js';

export type InformerRequest<T> = Omit<InformerOptions<T>, 'log' | 'observer'>;

/** Settings every informer of a factory shares unless a request overrides them. */
export type InformerDefaults = Pick<
  InformerOptions<KubeObject>,
  'pageSize' | 'watchTimeoutSeconds' | 'stallGraceMs' | 'backoff'
>;

/**
 * One informer per kind (and per metadata-only/namespace/selector variant) per process, shared
 * by every controller that asks for it. Informers asked for while the factory runs start at once.
 */
export class InformerFactory {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private started = false;

  constructor(
    readonly client: KubeClient,
    private readonly opts: {
      log?: Logger;
      observer?: (kind: string) => InformerObserver;
      defaults?: InformerDefaults;
      fieldManager?: string;
    } = {},
  ) {}

  /**
   * The shared informer for `type`. Indexers are merged into an existing informer; a transform
   * can only be set by the first request (it shapes what everyone sees).
   */
  informer<T extends KubeObject>(type: ResourceType<T>, req: InformerRequest<T> = {}): Informer<T> {
    const key = [
      typeName(type),
      type.version,
      req.metadataOnly ? 'meta' : 'full',
      req.namespace ?? '',
      req.labelSelector ?? '',
      req.fieldSelector ?? '',
    ].join('|');
    let inf = this.informers.get(key) as Informer<T> | undefined;
    if (inf) {
      if (req.transform && inf.options.transform !== req.transform) {
        throw new Error(
          `informer ${typeName(type)} already exists with another transform; ` +
            'pass the transform where the informer is first requested',
        );
      }
      for (const [name, fn] of Object.entries(req.indexers ?? {})) inf.addIndexer(name, fn);
      return inf;
    }
    const kind = typeName(type) + (req.metadataOnly ? '(metadata)' : '');
    inf = new Informer<T>(new ResourceClient<T>(this.client, type, this.opts.fieldManager), {
      ...this.opts.defaults,
      ...req,
      indexers: { ...(req.indexers ?? {}) },
      log: this.opts.log ?? silentLogger,
      observer: this.opts.observer?.(kind),
    });
    this.informers.set(key, inf as unknown as Informer<KubeObject>);
    if (this.started) inf.start();
    return inf;
  }

  all(): Informer<KubeObject>[] {
    return [...this.informers.values()];
  }

  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  /** Resolves true when every informer has synced, false if `signal` aborts first. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const all = Promise.all(this.all().map((i) => i.waitForSync())).then((r) => r.every(Boolean));
    if (!signal) return all;
    if (signal.aborted) return false;
    // One listener on the caller's signal for every informer: one each would pass Node's limit
    // of ten per signal (MaxListenersExceededWarning) in a process with many kinds.
    let onAbort!: () => void;
    const aborted = new Promise<false>((resolve) => {
      onAbort = () => resolve(false);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([all, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  get synced(): boolean {
    return this.all().every((i) => i.hasSynced);
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all(this.all().map((i) => i.stop()));
  }
}
