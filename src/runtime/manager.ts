import { setFlagsFromString } from 'node:v8';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIPv4, type AddressInfo } from 'node:net';
import { ResourceClient, DEFAULT_FIELD_MANAGER } from './api.js';
import type { KubeClient } from './client.js';
import { Controller, ControllerBuilder, type ControllerHost } from './controller.js';
import { InformerFactory, type InformerDefaults } from './factory.js';
import { LeaderElector, type LeaderElectionOptions } from './leader.js';
import { EventRecorder } from './events.js';
import { createLogger, type Logger } from './log.js';
import { RuntimeMetrics } from './metrics.js';
import type { KubeObject } from './objects.js';
import type { ResourceType } from './resources.js';
import { DelegatingAuth } from './authz.js';
import { CertificateFiles, reloadServerCertificate } from './tls.js';
import { COMMIT, VERSION } from '../version.js';
import { generateServingCertificate } from '../pki/index.js';
import { quoteValue } from './quote.js';

// Not `import { createServer } from 'node:http'`: an ESM import of a built-in module reads every
// export to build its namespace, and node:http's include lazily loaded ones (WebSocket,
// MessageEvent: the fetch implementation, with http2 and worker threads behind it). That is
// about 12 MiB of resident memory no controller uses; require() loads only the module itself.
const nodeRequire = createRequire(import.meta.url);
const { createServer } = nodeRequire('node:http') as typeof import('node:http');
const { createServer: createHttpsServer } = nodeRequire(
  'node:https',
) as typeof import('node:https');

/** Something the manager runs besides controllers (a webhook server, a periodic job). */
export interface Runnable {
  name: string;
  /** Run only while this process is the leader (like controllers), or always. */
  needLeaderElection: boolean;
  start(signal: AbortSignal): Promise<void>;
}

export type HealthCheck = () => boolean | Promise<boolean>;

export interface ManagerOptions {
  client: KubeClient;
  /** Program name: the logger's name and the default field manager. */
  name: string;
  fieldManager?: string;
  /** Leader election; absent means this process always reconciles. */
  leaderElection?: LeaderElectionOptions;
  /** host:port for /healthz and /readyz (":8081" style accepted); absent serves nothing. */
  healthProbeAddress?: string;
  /**
   * host:port for /metrics, as controller-runtime's --metrics-bind-address; absent or "0"
   * serves nothing. It may equal healthProbeAddress only when metrics are served plain.
   */
  metricsAddress?: string;
  /**
   * Serve /metrics over HTTPS, each request authenticated (TokenReview) and authorized
   * (SubjectAccessReview, `get` on the non-resource URL /metrics), as controller-runtime's
   * secure metrics. Left undefined: secure, except on a loopback address, which only the
   * pod's own processes reach; true: secure on every address; false: plain HTTP.
   */
  metricsSecure?: boolean;
  /**
   * Directory holding the metrics serving certificate (`tls.crt`, `tls.key`, e.g. a mounted
   * Secret), re-read when it changes; absent, a self-signed one is generated at start.
   */
  metricsCertDir?: string;
  /** Who may read secure metrics; false serves HTTPS to anyone (KMM's enableAuthnAuthz: false). */
  metricsAuth?: DelegatingAuth | false;
  log?: Logger;
  metrics?: RuntimeMetrics;
  informerDefaults?: InformerDefaults;
  /**
   * Share another manager's informers (two managers in one process, e.g. nfd-master and
   * nfd-gc together, then cache each kind once). The manager starts them but leaves stopping
   * them to their owner.
   */
  informers?: InformerFactory;
  /** How long to wait for informers to sync before giving up (default 2 min). */
  cacheSyncTimeoutMs?: number;
  /**
   * How far the JavaScript heap may grow past what the last full collection kept, in percent
   * (default 100, as Go's GOGC; 0 leaves V8's own policy). See boundHeapGrowth.
   */
  heapGrowthPercent?: number;
  /** Keep V8's young generation from growing (default true). See boundYoungGeneration. */
  boundYoungGeneration?: boolean;
  /** Run V8 in its optimize-for-size mode (default false). See optimizeForSize. */
  optimizeForSize?: boolean;
}

type Serving = Pick<
  ManagerOptions,
  'healthProbeAddress' | 'metricsAddress' | 'metricsSecure' | 'metricsCertDir'
>;

/**
 * Serving options in the layout of the NFD daemons: without a metrics address of its own,
 * /metrics is served plain beside the probes, as upstream does; a metrics address of its own is
 * served securely unless metricsSecure is false.
 */
export function metricsBesideProbes(o: Serving): Serving {
  return {
    healthProbeAddress: o.healthProbeAddress,
    metricsAddress: o.metricsAddress ?? o.healthProbeAddress,
    metricsSecure: o.metricsAddress === undefined ? false : o.metricsSecure,
    metricsCertDir: o.metricsCertDir,
  };
}

/**
 * A controller's heap is mostly short-lived: every watch event and API answer is parsed, read
 * and dropped. Left to itself V8 lets the heap grow to four or five times what is live before a
 * full collection while allocation is brisk (nfd-master at 5,000 nodes kept about 50 MB live
 * and reached 240 MB of heap). Bounding the growth factor trades a little CPU for a resident
 * size that follows the live set. A heap-growing-percent the user gave to node wins.
 */
export function boundHeapGrowth(percent: number): boolean {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) =>
    /heap[-_]growing[-_]percent/.test(a),
  );
  if (given || percent <= 0) return false;
  setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
  return true;
}

/**
 * V8 starts the young generation at two 1 MB semi-spaces and doubles them, up to 16 MB each,
 * whenever allocation is brisk (loading modules, a burst of watch events), and keeps them: that
 * is up to 30 MB of resident memory a controller never gets back, for objects that mostly die
 * within one event. Freezing the growth (V8 reads this flag each time it would grow) keeps the
 * young generation at the size it has; a young generation the user sized on the node command
 * line wins.
 */
export function boundYoungGeneration(): boolean {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) =>
    /semi[-_]space/.test(a),
  );
  if (given) return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}

/**
 * V8's optimize-for-size mode, which node accepts only on its own command line: every full
 * collection also compacts the heap and hands the pages it freed back to the system, and when
 * the process goes quiet the memory reducer does so too. A controller whose work comes in bursts
 * (a roll-out over every node) then falls back near its live set once the burst is over, instead
 * of keeping its peak. V8 reads the flag as it collects, so setting it at start takes effect.
 * The mode given on the node command line (or `--lite-mode`, which implies it) wins.
 */
export function optimizeForSize(): boolean {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) =>
    /optimize[-_]for[-_]size|lite[-_]mode/.test(a),
  );
  if (given) return false;
  setFlagsFromString('--optimize-for-size');
  return true;
}

/** Whether a listen address is reachable only from this machine (or this pod). */
export function isLoopbackAddress(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIPv4(h) && h.startsWith('127.');
}

const CERT_RELOAD_MS = 10_000;

function parseAddress(a: string): { host: string; port: number } {
  const i = a.lastIndexOf(':');
  if (i < 0) throw new Error(`address ${quoteValue(a)}: expected host:port or :port`);
  const port = Number(a.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`address ${quoteValue(a)}: port must be a number from 0 to 65535`);
  }
  return { host: a.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0', port };
}

/**
 * Runs controllers as controller-runtime's manager does: starts the shared informers and waits
 * for them to sync, campaigns for leadership if asked to, runs the controllers only while
 * leading, serves /healthz, /readyz and /metrics, and shuts down in order on stop() or SIGTERM
 * (controllers drain, then the lease is released, then informers and servers stop).
 */
export class Manager implements ControllerHost {
  readonly client: KubeClient;
  readonly informers: InformerFactory;
  readonly log: Logger;
  readonly metrics: RuntimeMetrics;
  readonly fieldManager: string;
  readonly elector: LeaderElector | undefined;
  private readonly controllers: Controller[] = [];
  private readonly runnables: Runnable[] = [];
  private readonly healthChecks = new Map<string, HealthCheck>();
  private readonly readyChecks = new Map<string, HealthCheck>();
  private readonly servers: Server[] = [];
  private certTimer: ReturnType<typeof setInterval> | undefined;
  private readonly abort = new AbortController();
  private leaderRunning: Promise<void>[] = [];
  private stopping: Promise<void> | undefined;
  private done: Promise<void> | undefined;
  private failure: Error | undefined;
  private signalsRemover: (() => void) | undefined;
  /** Where the probe and metrics servers listen (port 0 becomes a real port). */
  readonly addresses: { health?: AddressInfo; metrics?: AddressInfo } = {};

  constructor(private readonly opts: ManagerOptions) {
    this.client = opts.client;
    this.log = opts.log ?? createLogger({ name: opts.name });
    this.metrics = opts.metrics ?? new RuntimeMetrics();
    this.fieldManager = opts.fieldManager ?? opts.name ?? DEFAULT_FIELD_MANAGER;
    this.informers =
      opts.informers ??
      new InformerFactory(opts.client, {
        log: this.log,
        observer: (kind) => this.metrics.informerObserver(kind),
        defaults: opts.informerDefaults,
        fieldManager: this.fieldManager,
      });
    if (opts.leaderElection) {
      this.metrics.leader.set({ name: opts.leaderElection.name }, 0);
      this.elector = new LeaderElector(
        opts.client,
        opts.leaderElection,
        this.log.child({ logger: 'leader-election' }),
      );
    }
    this.readyChecks.set('informers', () => this.informers.synced);
  }

  /** Typed API access writing under this manager's field manager. */
  api<T extends KubeObject>(type: ResourceType<T>): ResourceClient<T> {
    return new ResourceClient<T>(this.client, type, this.fieldManager);
  }

  /** An event recorder reporting as `component` (the manager's name by default). */
  recorder(component = this.opts.name): EventRecorder {
    return new EventRecorder(this.client, { component }, this.log);
  }

  controller(name: string): ControllerBuilder {
    if (this.controllers.some((c) => c.name === name)) {
      throw new Error(`controller name "${name}" is already used; names label metrics and logs`);
    }
    return new ControllerBuilder(this, name);
  }

  addController(c: Controller): void {
    this.controllers.push(c);
    if (this.isLeader && this.done && !this.stopping) c.start();
  }

  add(r: Runnable): void {
    this.runnables.push(r);
  }

  addHealthCheck(name: string, check: HealthCheck): void {
    this.healthChecks.set(name, check);
  }

  addReadyCheck(name: string, check: HealthCheck): void {
    this.readyChecks.set(name, check);
  }

  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : this.done !== undefined;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Stops the manager on SIGTERM or SIGINT (the first one; a second one exits at once). */
  stopOnSignals(): this {
    const on = (sig: NodeJS.Signals) => {
      this.log.info('received signal, shutting down', { signal: sig });
      process.removeListener('SIGTERM', on);
      process.removeListener('SIGINT', on);
      void this.stop();
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
    this.signalsRemover = () => {
      process.removeListener('SIGTERM', on);
      process.removeListener('SIGINT', on);
    };
    return this;
  }

  /**
   * Starts everything and resolves once caches are synced (and, without leader election,
   * controllers run). `wait()` resolves when the manager has stopped.
   */
  async start(): Promise<void> {
    if (this.done) throw new Error('manager already started');
    this.log.info('starting manager', {
      version: VERSION,
      commit: COMMIT,
      node: process.version,
      pid: process.pid,
      leaderElection: this.opts.leaderElection
        ? `${this.opts.leaderElection.namespace}/${this.opts.leaderElection.name}`
        : false,
    });
    boundHeapGrowth(this.opts.heapGrowthPercent ?? 100);
    if (this.opts.boundYoungGeneration ?? true) boundYoungGeneration();
    if (this.opts.optimizeForSize) optimizeForSize();
    let resolveDone!: () => void;
    this.done = new Promise((r) => (resolveDone = r));
    this.abort.signal.addEventListener('abort', () => void this.shutdown().then(resolveDone));
    await this.serve();
    // runRunnable logs a runnable's failure itself; these run until the manager stops.
    for (const r of this.runnables.filter((r) => !r.needLeaderElection)) void this.runRunnable(r);
    this.informers.start();
    const timeout = AbortSignal.timeout(this.opts.cacheSyncTimeoutMs ?? 120_000);
    const synced = await this.informers.waitForSync(AbortSignal.any([timeout, this.abort.signal]));
    if (!synced) {
      if (this.abort.signal.aborted) return;
      const pending = this.informers
        .all()
        .filter((i) => !i.hasSynced)
        .map((i) => i.name);
      this.failure = new Error(`caches did not sync in time: ${pending.join(', ')}`);
      void this.stop();
      throw this.failure;
    }
    this.log.info('caches synced', { informers: this.informers.all().length });
    if (!this.elector) {
      this.startLeading();
      return;
    }
    void this.elector
      .run(this.abort.signal, () => this.startLeading())
      .then((how) => {
        if (how === 'lost') {
          // As controller-runtime: a process that lost its lease must not keep acting as leader.
          this.failure = new Error('leader election lost');
          void this.stop();
        }
      });
  }

  private startLeading(): void {
    this.metrics.leader.set({ name: this.opts.leaderElection?.name ?? this.opts.name }, 1);
    for (const c of this.controllers) c.start();
    for (const r of this.runnables.filter((r) => r.needLeaderElection)) {
      this.leaderRunning.push(this.runRunnable(r));
    }
  }

  private runRunnable(r: Runnable): Promise<void> {
    return r.start(this.abort.signal).catch((e: unknown) => {
      this.log.error('runnable failed', { runnable: r.name, error: e });
      this.failure ??= e instanceof Error ? e : new Error(String(e));
      void this.stop();
    });
  }

  /** Resolves when the manager has stopped; rejects if it stopped because something failed. */
  async wait(): Promise<void> {
    await this.done;
    if (this.failure) throw this.failure;
  }

  /** Graceful shutdown: controllers finish their reconciles, the lease is released, then the rest. */
  stop(): Promise<void> {
    if (!this.done) return Promise.resolve();
    this.abort.abort();
    return this.done;
  }

  private shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      this.signalsRemover?.();
      await Promise.all(this.controllers.map((c) => c.stop()));
      await Promise.all(this.leaderRunning);
      if (this.elector) {
        await this.elector.release();
        this.metrics.leader.set({ name: this.opts.leaderElection!.name }, 0);
      }
      if (!this.opts.informers) await this.informers.stop();
      if (this.certTimer) clearInterval(this.certTimer);
      for (const s of this.servers) s.closeAllConnections();
      await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
      this.log.info('manager stopped');
    })();
    return this.stopping;
  }

  private async serve(): Promise<void> {
    const { healthProbeAddress: h } = this.opts;
    const m = this.opts.metricsAddress === '0' ? undefined : this.opts.metricsAddress;
    const secure =
      m !== undefined && (this.opts.metricsSecure ?? !isLoopbackAddress(parseAddress(m).host));
    // One server for both when given one address; ":0" means "any free port", so two of them.
    const shared = h !== undefined && h === m && parseAddress(h).port !== 0;
    if (shared && secure) {
      throw new Error(
        `metrics address ${m} is also the health probe address: secure metrics need their own port (or serve them plain with metrics-secure=false)`,
      );
    }
    if (h !== undefined) {
      const info = await this.listen(h, { metrics: shared, probes: true });
      this.addresses.health = info;
      if (shared) this.addresses.metrics = info;
    }
    if (m !== undefined && !shared) {
      this.addresses.metrics = await this.listen(m, { metrics: true, probes: false, secure });
    }
  }

  /** The metrics certificate: from metricsCertDir (watched), else generated for this run. */
  private metricsCertificate(): { cert: string; key: string; files?: CertificateFiles } {
    const dir = this.opts.metricsCertDir;
    if (dir) {
      const files = new CertificateFiles(join(dir, 'tls.crt'), join(dir, 'tls.key'));
      return { ...files.read(), files };
    }
    const pair = generateServingCertificate({
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    this.log.info('serving metrics with a self-signed certificate generated at start');
    return { cert: pair.certPem, key: pair.keyPem };
  }

  private handleMetrics(res: ServerResponse): void {
    let text: string;
    try {
      text = this.metrics.registry.expose();
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
      return;
    }
    res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType });
    res.end(text);
  }

  private async listen(
    address: string,
    what: { metrics: boolean; probes: boolean; secure?: boolean },
  ): Promise<AddressInfo> {
    const { host, port } = parseAddress(address);
    const { metrics, probes, secure = false } = what;
    const auth = secure
      ? this.opts.metricsAuth === false
        ? undefined
        : (this.opts.metricsAuth ?? new DelegatingAuth(this.client))
      : undefined;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?')[0];
      const check = async (checks: Map<string, HealthCheck>) => {
        const failed: string[] = [];
        for (const [name, c] of checks) {
          try {
            if (!(await c())) failed.push(name);
          } catch {
            failed.push(name);
          }
        }
        res.writeHead(failed.length ? 500 : 200, { 'Content-Type': 'text/plain' });
        res.end(failed.length ? `failed: ${failed.join(', ')}\n` : 'ok\n');
      };
      if (probes && path === '/healthz') return void check(this.healthChecks);
      if (probes && path === '/readyz') return void check(this.readyChecks);
      if (metrics && path === '/metrics') {
        if (!auth) return this.handleMetrics(res);
        void auth.check(req).then((d) => {
          if (d.status === 200) return this.handleMetrics(res);
          res.writeHead(d.status, { 'Content-Type': 'text/plain' });
          res.end(`${d.message}\n`);
        });
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
    };
    let server: Server;
    if (secure) {
      const { cert, key, files } = this.metricsCertificate();
      const tls = createHttpsServer({ cert, key, minVersion: 'TLSv1.2' }, handler);
      if (files) {
        this.certTimer = setInterval(
          () => reloadServerCertificate(tls, files, this.log, 'metrics'),
          CERT_RELOAD_MS,
        );
        this.certTimer.unref();
      }
      server = tls;
    } else {
      server = createServer(handler);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.servers.push(server);
    const info = server.address() as AddressInfo;
    this.log.info('serving', {
      addr: `${info.address}:${info.port}`,
      scheme: secure ? 'https' : 'http',
      ...(secure ? { authn: auth ? 'TokenReview/SubjectAccessReview' : 'none' } : {}),
      paths: [...(probes ? ['/healthz', '/readyz'] : []), ...(metrics ? ['/metrics'] : [])],
    });
    return info;
  }
}
