import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ResourceClient } from './api.js';
import { isKubeError, type KubeClient } from './client.js';
import { realClock, sleep, type Clock } from './clock.js';
import { silentLogger, type Logger } from './log.js';
import type { KubeObject } from './objects.js';
import { Leases } from './resources.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  namespace: string;
  /** The Lease's name, e.g. "kmm.sigs.x-k8s.io". */
  name: string;
  /** Who we are; hostname_uuid by default (as controller-runtime). */
  identity?: string;
  /** client-go's defaults: 15 s lease, renew within 10 s, try every 2 s. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

/** metav1.MicroTime wants exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Leader election on a coordination.k8s.io Lease, as client-go's: a candidate takes the lease
 * when it is free or when its holder has not renewed it for leaseDuration (judged by our own
 * clock from when we last saw it change, so clock skew between machines does not matter); the
 * leader renews every retryPeriod and gives up if it cannot renew within renewDeadline.
 */
export class LeaderElector {
  readonly identity: string;
  private readonly api: ResourceClient<Lease>;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: string | undefined;
  private observedHolder: string | undefined;
  private observedTransitions = 0;
  private observedAt = 0;
  private leading = false;
  /** When the lease was last taken or renewed, by our clock. */
  private lastRenew = 0;

  constructor(
    client: KubeClient,
    private readonly opts: LeaderElectionOptions,
    private readonly log: Logger = silentLogger,
    private readonly clock: Clock = realClock,
  ) {
    this.api = new ResourceClient<Lease>(client, Leases);
    this.identity = opts.identity ?? `${hostname()}_${randomUUID()}`;
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
  }

  /**
   * Whether this candidate surely holds the lease: it won it and renewed it within the renew
   * deadline. A leader that could not renew for longer (a stopped process, a long pause, a
   * stalled connection) may have lost the lease to another without having seen it yet; until its
   * next renewal says which, it must not act as leader.
   */
  get isLeader(): boolean {
    return this.leading && this.clock.now() - this.lastRenew <= this.renewDeadlineMs;
  }

  private get where(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }

  /**
   * Campaigns until elected, then calls `onStartedLeading` and renews until `signal` aborts
   * (returns 'stopped') or renewal fails (returns 'lost').
   */
  async run(signal: AbortSignal, onStartedLeading: () => void): Promise<'stopped' | 'lost'> {
    this.log.info('attempting to acquire leader lease', {
      lease: this.where,
      identity: this.identity,
    });
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) break;
      await sleep(this.retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    if (signal.aborted) return 'stopped';
    this.leading = true;
    this.lastRenew = this.clock.now();
    this.log.info('successfully acquired lease', { lease: this.where, identity: this.identity });
    onStartedLeading();
    while (!signal.aborted) {
      await sleep(this.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) {
        this.lastRenew = this.clock.now();
      } else if (this.clock.now() - this.lastRenew > this.renewDeadlineMs) {
        this.leading = false;
        this.log.error('leader election lost', { lease: this.where, identity: this.identity });
        return 'lost';
      }
    }
    return 'stopped';
  }

  /** One attempt to take or renew the lease. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    let lease: Lease;
    try {
      lease = await this.api.get(this.opts.name, this.opts.namespace);
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) {
        this.log.warn('error retrieving lease', { lease: this.where, error: e });
        return false;
      }
      try {
        const created = await this.api.create({
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: this.spec(now, now, 0),
        });
        this.see(created, now);
        return true;
      } catch (e2) {
        this.log.debug('lease creation raced', { error: e2 });
        return false;
      }
    }
    const spec = lease.spec ?? {};
    const raw = JSON.stringify(spec);
    if (raw !== this.observed) this.see(lease, now);
    const holder = spec.holderIdentity;
    const duration = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder && holder !== this.identity && this.observedAt + duration > now) return false;
    const mine = holder === this.identity;
    const next: Lease = {
      ...lease,
      spec: this.spec(
        mine && spec.acquireTime ? Date.parse(spec.acquireTime) : now,
        now,
        mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      ),
    };
    try {
      this.see(await this.api.update(next), now);
      return true;
    } catch (e) {
      this.log.debug('lease update failed', { lease: this.where, error: e });
      return false;
    }
  }

  /**
   * Gives the lease up at once (holder cleared, duration 1 s), so that a successor need not wait
   * out the lease. Call after this process has stopped acting as leader.
   */
  async release(): Promise<boolean> {
    this.leading = false;
    if (this.observedHolder !== this.identity) return false;
    try {
      const lease = await this.api.get(this.opts.name, this.opts.namespace);
      if (lease.spec?.holderIdentity !== this.identity) return false;
      const now = this.clock.now();
      await this.api.update({
        ...lease,
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: this.observedTransitions,
        },
      });
      this.observedHolder = '';
      this.log.info('released leader lease', { lease: this.where, identity: this.identity });
      return true;
    } catch (e) {
      this.log.error('failed to release lease', { lease: this.where, error: e });
      return false;
    }
  }

  private spec(acquired: number, renewed: number, transitions: number): LeaseSpec {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: microTime(acquired),
      renewTime: microTime(renewed),
      leaseTransitions: transitions,
    };
  }

  private see(lease: Lease, now: number): void {
    this.observed = JSON.stringify(lease.spec ?? {});
    this.observedHolder = lease.spec?.holderIdentity;
    this.observedTransitions = lease.spec?.leaseTransitions ?? 0;
    this.observedAt = now;
  }
}
