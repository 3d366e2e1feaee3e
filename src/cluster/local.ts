import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../runtime/client.js';
import { kubeconfigYaml, loadKubeconfig } from '../runtime/kubeconfig.js';
import { ensureK8sBox, type K8sBoxProgram } from './k8s-box.js';
import { createPki } from './pki.js';
import { hasNodeStage, NODE_STAGES } from './kwok-stages.js';
import { freePort, isAlive, killGroups, startDetached, startWatchdog, tail } from './processes.js';

/** The annotation kwok looks for on the Nodes it should simulate. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

export type Component = Exclude<K8sBoxProgram, 'kubectl'>;
const START_ORDER: Component[] = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
];

/** What a running control plane leaves on disk, so another process can find and stop it. */
export interface ClusterState {
  dir: string;
  binDir: string;
  kubeconfig: string;
  server: string;
  pids: Partial<Record<Component | 'watchdog', number>>;
  /** Command lines, so a stopped component can be started again. */
  args: Record<Component, string[]>;
  ports: Record<string, number>;
  startedAt: string;
}

export interface StartOptions {
  /** Directory for data, logs, certificates and the kubeconfig; a new temporary one if absent. */
  dir?: string;
  /**
   * Stop the control plane when this process exits, even by SIGKILL (a watchdog process sees to
   * it). Tests want this; `hwe cluster up` does not.
   */
  ownedByProcess?: boolean;
  /**
   * Extra kwok Stage documents (YAML). Pod stages given here replace kwok's default ones, Node
   * stages replace NODE_STAGES.
   */
  kwokStages?: string;
  /**
   * How long a simulated node's Lease lasts; kwok renews it every quarter of that. 40 s, as a
   * kubelet does, means 100 renewals a second per 1,000 nodes: on a small machine, thousands
   * of nodes are better simulated with longer leases. The controller-manager's grace period
   * before it marks a node unreachable follows (at least 2 minutes).
   */
  nodeLeaseDurationSeconds?: number;
  log?: (line: string) => void;
}

const STATE_FILE = 'state.json';
/** Process-group IDs, one per line, for the watchdog shell to read. */
const PIDS_FILE = 'pids';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function getOk(url: string, opts: { ca?: string; token?: string } = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const headers: Record<string, string> = opts.token
      ? { Authorization: `Bearer ${opts.token}` }
      : {};
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        headers,
        timeout: 2000,
        ...(u.protocol === 'https:' ? { ca: opts.ca, rejectUnauthorized: !!opts.ca } : {}),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** A running local control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok. */
export class LocalCluster {
  readonly state: ClusterState;
  private clientInstance: KubeClient | undefined;

  private constructor(state: ClusterState) {
    this.state = state;
  }

  get kubeconfig(): string {
    return this.state.kubeconfig;
  }

  get dir(): string {
    return this.state.dir;
  }

  /** The admin client of this cluster (created on first use, closed by stop()). */
  get client(): KubeClient {
    this.clientInstance ??= new KubeClient(loadKubeconfig([this.state.kubeconfig]));
    return this.clientInstance;
  }

  logFile(c: Component): string {
    return join(this.state.dir, 'logs', `${c}.log`);
  }

  /** Path of a k8s-box program, e.g. kubectl. */
  bin(p: K8sBoxProgram): string {
    return join(this.state.binDir, p);
  }

  /** Reads the state a running cluster left in `dir`, or undefined if there is none. */
  static attach(dir: string): LocalCluster | undefined {
    const f = join(dir, STATE_FILE);
    if (!existsSync(f)) return undefined;
    return new LocalCluster(JSON.parse(readFileSync(f, 'utf8')) as ClusterState);
  }

  /** Which components are running (by PID). */
  running(): Record<Component, boolean> {
    const r = {} as Record<Component, boolean>;
    for (const c of START_ORDER)
      r[c] = this.state.pids[c] !== undefined && isAlive(this.state.pids[c]);
    return r;
  }

  static async start(opts: StartOptions = {}): Promise<LocalCluster> {
    const log = opts.log ?? (() => undefined);
    const binDir = await ensureK8sBox(log);
    const leaseSeconds = opts.nodeLeaseDurationSeconds ?? 40;
    if (!Number.isInteger(leaseSeconds) || leaseSeconds < 1)
      throw new Error(
        `node lease duration ${leaseSeconds}: give a whole number of seconds, 1 or more`,
      );
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'hwe-cluster-'));
    mkdirSync(join(dir, 'logs'), { recursive: true });
    mkdirSync(join(dir, 'pki'), { recursive: true });
    const pki = createPki(join(dir, 'pki'));
    const ports: Record<string, number> = {};
    for (const name of ['etcd', 'etcdPeer', 'apiserver', 'controllerManager', 'scheduler']) {
      ports[name] = await freePort();
    }
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const kubeconfig = join(dir, 'kubeconfig');
    const ca = readFileSync(pki.caCert, 'utf8');
    writeFileSync(
      kubeconfig,
      kubeconfigYaml({ server, ca, token: pki.adminToken, name: 'hwe-local' }),
      {
        mode: 0o600,
      },
    );
    const args: Record<Component, string[]> = {
      etcd: [
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${ports.etcd}`,
        `--advertise-client-urls=http://127.0.0.1:${ports.etcd}`,
        `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${ports.etcdPeer}`,
        '--unsafe-no-fsync',
        '--quota-backend-bytes=8589934592',
        '--log-level=warn',
      ],
      'kube-apiserver': [
        `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.apiserver}`,
        '--advertise-address=127.0.0.1',
        '--endpoint-reconciler-type=none',
        `--cert-dir=${join(dir, 'pki')}`,
        `--tls-cert-file=${pki.serverCert}`,
        `--tls-private-key-file=${pki.serverKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--token-auth-file=${pki.tokenFile}`,
        '--authorization-mode=RBAC',
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        '--max-requests-inflight=1000',
        '--max-mutating-requests-inflight=500',
        '--profiling=false',
        '--v=0',
      ],
      'kube-controller-manager': [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.controllerManager}`,
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.caCert}`,
        '--use-service-account-credentials=false',
        '--kube-api-qps=500',
        '--kube-api-burst=1000',
        '--concurrent-daemonset-syncs=4',
        // The TTL controller rewrites an annotation on every Node as the cluster grows (kubelet
        // cache hints, meaningless for simulated nodes): thousands of writes at scale.
        '--controllers=*,-ttl',
        // kwok's lease renewals for thousands of nodes can lag on a small machine; a longer grace
        // (never shorter than the lease itself) keeps the node lifecycle controller from
        // tainting and untainting them meanwhile.
        `--node-monitor-grace-period=${Math.max(120, leaseSeconds)}s`,
        '--profiling=false',
        '--v=0',
      ],
      'kube-scheduler': [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.scheduler}`,
        '--kube-api-qps=500',
        '--kube-api-burst=1000',
        '--profiling=false',
        '--v=0',
      ],
      kwok: [
        `--kubeconfig=${kubeconfig}`,
        `--config=${join(dir, 'kwok.yaml')}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
        `--node-lease-duration-seconds=${leaseSeconds}`,
        '--cidr=10.128.0.0/12',
        '--node-ip=10.96.0.1',
      ],
    };
    const state: ClusterState = {
      dir,
      binDir,
      kubeconfig,
      server,
      pids: {},
      args,
      ports,
      startedAt: new Date().toISOString(),
    };
    const cluster = new LocalCluster(state);
    writeFileSync(
      join(dir, 'kwok.yaml'),
      // kwok's default of 4 parallel stage players makes 1,000 nodes take minutes to turn Ready.
      'apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions:\n' +
        '  nodePlayStageParallelism: 16\n  podPlayStageParallelism: 16\n  nodeLeaseParallelism: 16\n' +
        (opts.kwokStages && hasNodeStage(opts.kwokStages) ? '' : `---\n${NODE_STAGES}`) +
        (opts.kwokStages ? `---\n${opts.kwokStages}` : ''),
    );

    cluster.save();
    if (opts.ownedByProcess) {
      // Started first, so that even an interrupted start leaves nothing behind.
      state.pids.watchdog = startWatchdog(
        process.pid,
        join(dir, PIDS_FILE),
        join(dir, 'logs', 'watchdog.log'),
      );
      cluster.save();
    }
    const startOne = (c: Component) => {
      log(`starting ${c}`);
      cluster.startComponent(c);
    };
    const waitReady = (c: Component, timeoutMs: number) => cluster.waitReady(c, timeoutMs);

    try {
      startOne('etcd');
      await waitReady('etcd', 30_000);
      startOne('kube-apiserver');
      await waitReady('kube-apiserver', 90_000);
      startOne('kube-controller-manager');
      startOne('kube-scheduler');
      startOne('kwok');
      await Promise.all([
        waitReady('kube-controller-manager', 60_000),
        waitReady('kube-scheduler', 60_000),
        waitReady('kwok', 10_000),
      ]);
      await cluster.waitForDefaultServiceAccount(60_000);
    } catch (e) {
      await cluster.stop({ keepDir: true });
      throw e;
    }
    log(`control plane ready at ${server}`);
    return cluster;
  }

  /**
   * The ServiceAccount admission plugin refuses pods until the namespace's default
   * ServiceAccount exists; the controller-manager creates it shortly after start.
   */
  private async waitForDefaultServiceAccount(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        await this.client.request('/api/v1/namespaces/default/serviceaccounts/default');
        return;
      } catch {
        await sleep(200);
      }
    }
    throw new Error(`the default ServiceAccount did not appear within ${timeoutMs / 1000}s`);
  }

  /** Stops every process by PID and removes the directory unless `keepDir`. */
  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    this.clientInstance?.close();
    this.clientInstance = undefined;
    const order = [...START_ORDER].reverse();
    const pids = [this.state.pids.watchdog, ...order.map((c) => this.state.pids[c])].filter(
      (p): p is number => p !== undefined,
    );
    // Clients first, then the apiserver, then etcd, so that nothing logs storms of errors.
    await killGroups(
      pids.filter((p) => p !== this.state.pids.etcd && p !== this.state.pids['kube-apiserver']),
    );
    await killGroups(
      [this.state.pids['kube-apiserver'], this.state.pids.etcd].filter(
        (p): p is number => p !== undefined,
      ),
    );
    if (opts.keepDir) {
      rmSync(join(this.state.dir, STATE_FILE), { force: true });
    } else {
      rmSync(this.state.dir, { recursive: true, force: true });
    }
  }

  private save(): void {
    writeFileSync(join(this.state.dir, STATE_FILE), JSON.stringify(this.state, null, 2));
    const pids = Object.entries(this.state.pids).filter(([k]) => k !== 'watchdog');
    writeFileSync(join(this.state.dir, PIDS_FILE), pids.map(([, p]) => `${p}\n`).join(''));
  }

  private startComponent(c: Component): void {
    // HOME points into the cluster directory so no program reads or writes the user's dotfiles.
    const env = { ...process.env, HOME: this.state.dir };
    this.state.pids[c] = startDetached(
      join(this.state.binDir, c),
      this.state.args[c],
      this.logFile(c),
      env,
    );
    this.save();
  }

  /** Whether a component answers its health check (kwok has none: Ready nodes are its proof). */
  private healthy(c: Component): Promise<boolean> {
    const { ports, server, dir } = this.state;
    switch (c) {
      case 'etcd':
        return getOk(`http://127.0.0.1:${ports.etcd}/health`);
      case 'kube-apiserver': {
        const ca = readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8');
        const token = readFileSync(join(dir, 'pki', 'tokens.csv'), 'utf8').split(',')[0];
        return getOk(`${server}/readyz`, { ca, token });
      }
      case 'kube-controller-manager':
        return getOk(`https://127.0.0.1:${ports.controllerManager}/healthz`);
      case 'kube-scheduler':
        return getOk(`https://127.0.0.1:${ports.scheduler}/healthz`);
      case 'kwok':
        return Promise.resolve(true);
    }
  }

  private async waitReady(c: Component, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!isAlive(this.state.pids[c]!)) {
        throw new Error(
          `${c} exited during start; last lines of ${this.logFile(c)}:\n${tail(this.logFile(c))}`,
        );
      }
      if (await this.healthy(c)) return;
      await sleep(100);
    }
    throw new Error(
      `${c} not ready after ${timeoutMs / 1000}s; last lines of ${this.logFile(c)}:\n${tail(this.logFile(c))}`,
    );
  }

  /** Stops one component (to test how controllers ride out an apiserver restart, say). */
  async stopComponent(c: Component): Promise<void> {
    const pid = this.state.pids[c];
    if (pid !== undefined) await killGroups([pid]);
    delete this.state.pids[c];
    this.save();
  }

  /** Starts a stopped component again with its original command line and waits until it is ready. */
  async restartComponent(c: Component, timeoutMs = 90_000): Promise<void> {
    if (this.state.pids[c] !== undefined && isAlive(this.state.pids[c]))
      await this.stopComponent(c);
    this.startComponent(c);
    await this.waitReady(c, timeoutMs);
  }
}
