import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ResourceClient } from './api.js';
import { isKubeError, type KubeClient } from './client.js';
import { silentLogger, type Logger } from './log.js';
import type { KubeObject } from './objects.js';
import { Events } from './resources.js';

export type EventType = 'Normal' | 'Warning';

export interface CoreEvent extends KubeObject {
  involvedObject: {
    apiVersion?: string;
    kind?: string;
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
  };
  reason: string;
  message: string;
  type: EventType;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string; host?: string };
  reportingComponent: string;
  reportingInstance: string;
}

export interface EventRecorderOptions {
  /** The reporting component, e.g. "kmm" or "nfd-master". */
  component: string;
  host?: string;
  /** How many distinct events to remember for aggregation. */
  cacheSize?: number;
  clock?: () => Date;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
}

/**
 * Records core/v1 Events about objects. A repeat of the same event (same object, type, reason
 * and message) bumps the count and lastTimestamp of the existing Event instead of creating a
 * new one, as client-go's recorder does, so a reconcile loop that keeps failing leaves one
 * Event with a count rather than thousands. Recording never throws: failures are logged.
 */
export class EventRecorder {
  private readonly api: ResourceClient<CoreEvent>;
  private readonly seen = new Map<string, Seen>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly opts: Required<EventRecorderOptions>;

  constructor(
    client: KubeClient,
    opts: EventRecorderOptions,
    private readonly log: Logger = silentLogger,
  ) {
    this.api = new ResourceClient<CoreEvent>(client, Events, opts.component);
    this.opts = {
      host: hostname(),
      cacheSize: 4096,
      clock: () => new Date(),
      ...opts,
    };
  }

  /** Records an event; the promise resolves when it is written (callers need not wait). */
  event(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const m = obj.metadata;
    const key = [obj.kind, m.namespace ?? '', m.name, m.uid ?? '', type, reason, message].join(
      '\x00',
    );
    // One write at a time per key, so that a burst of repeats counts up instead of racing.
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.write(key, obj, type, reason, message));
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  private async write(
    key: string,
    obj: KubeObject,
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const now = this.opts
      .clock()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    const prior = this.seen.get(key);
    try {
      if (prior) {
        try {
          await this.api.patch(
            prior.name,
            { count: prior.count + 1, lastTimestamp: now },
            { namespace: prior.namespace },
          );
          prior.count++;
          this.touch(key, prior);
          return;
        } catch (e) {
          if (!isKubeError(e, 'NotFound')) throw e;
          // The Event expired (the apiserver keeps them an hour): start a new one.
        }
      }
      const namespace = obj.metadata.namespace || 'default';
      const name = `${obj.metadata.name ?? 'object'}.${randomBytes(8).toString('hex')}`;
      await this.api.create({
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace: obj.metadata.namespace,
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
        reason,
        message: message.slice(0, 1024),
        type,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.opts.component, host: this.opts.host },
        reportingComponent: this.opts.component,
        reportingInstance: this.opts.host,
      });
      this.touch(key, { name, namespace, count: 1 });
    } catch (e) {
      this.log.warn('could not record event', { reason, object: obj.metadata.name, error: e });
    }
  }

  private touch(key: string, s: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, s);
    while (this.seen.size > this.opts.cacheSize) {
      this.seen.delete(this.seen.keys().next().value!);
    }
  }
}
