/**
 * npm run bench -- chaos [--nodes 1000] [--minutes 10] [--step-ms 2000] [--report FILE]
 *                        [--lease-seconds 600] [--quiet-minutes 15]
 *
 * NFD and KMM together under faults, on a private local control plane with kwok nodes on three
 * kernels: nfd-master (two replicas, leader election), nfd-gc, the KMM operator (two replicas,
 * leader election; the core controllers in the bench's operator process, the bench standing in
 * for the image controller as bench/kmm.ts does) and the KMM webhook, each controller talking to
 * the apiserver through a TCP proxy of its own. For --minutes a driver keeps changing the world
 * (NodeFeatures, NodeFeatureRules, Modules, node labels, reboots into new kernels, nodes replaced)
 * while faults follow one another: SIGKILL of each component's leader, SIGSTOP of a leader past
 * its lease then SIGCONT, kube-apiserver restarts, an etcd restart, the proxies dropping or
 * stalling connections, and bursts of writes from a competing writer that make the controllers'
 * writes conflict. After each fault, a probe change (a NodeFeature label on one node, a Module
 * selected or unselected on another) measures the time until both controllers act again.
 *
 * Then it waits for quiet and prints every invariant with its count of violations (see
 * src/cluster/chaos-invariants.ts), the recovery time per fault kind, and memory slopes, and
 * writes everything as JSON.
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureK8sBox } from '../src/cluster/k8s-box.js';
import type { LocalCluster } from '../src/cluster/local.js';
import {
  createSimNodes,
  deleteSimNodes,
  rebootNode,
  simNodeSpecs,
  upgradeKernel,
  type SimNodeSpec,
} from '../src/cluster/nodes.js';
import { startWorkerDriver } from '../src/cluster/kmm-workers.js';
import { freePort } from '../src/cluster/processes.js';
import {
  checkKmmNode,
  checkWorkerPods,
  compareNfdNode,
  conflictCounts,
  countsSince,
  findFlaps,
  isNfdKey,
  medianWorst,
  memoryTrend,
  WorkerPodOverlap,
  type ChaosModule,
  type ChaosNode,
  type InputChange,
  type LabelChange,
  type WorkerPodView,
} from '../src/cluster/chaos-invariants.js';
import {
  ModuleImagesConfigs,
  Modules,
  NodeFeatureRules,
  NodeFeatures,
  NodeModulesConfigs,
  type Module,
  type NodeModulesConfig,
} from '../src/api/index.js';
import { DEFAULT_POLICY, evaluateNode, readNodeFeature } from '../src/nfd/eval/index.js';
import type { NodeFeatureRule } from '../src/nfd/rules/index.js';
import {
  Informer,
  isKubeError,
  KubeClient,
  Leases,
  loadKubeconfig,
  mapLimit,
  Nodes,
  Pods,
  ResourceClient,
  ServiceAccounts,
  ValidatingWebhookConfigurations,
  type KubeObject,
} from '../src/runtime/index.js';
import { kmmWebhookConfiguration } from '../src/kmm/webhook/index.js';
import { isOwnedNodeLabel, readyLabel, WORKER_LABELS } from '../src/kmm/common/index.js';
import { benchCluster } from './_support.js';
import { nodeFeatureFor, profiles, ruleSet } from './nfd-master.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const HWE_MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const NFD_NS = 'chaos-nfd';
const KMM_NS = 'chaos-kmm';
const F = 'feature.node.kubernetes.io';
const NFD_LEASE = 'nfd-master.nfd.kubernetes.io';
const KMM_LEASE = 'kmm.sigs.x-k8s.io';
const WEBHOOK_NS_LABEL = 'kmm.node.k8s.io/contains-modules';
const WEBHOOK_TIMEOUT_S = 10;
const KERNELS = ['5.14.0-284.30.1.el9_2.x86_64', '5.14.0-362.8.1.el9_3.x86_64', '6.1.0-18-amd64'];
/** Kernels nodes reboot into. */
const NEW_KERNELS = [...KERNELS, '5.14.0-427.13.1.el9_4.x86_64', '6.1.0-21-amd64'];
const SEL = 'chaos.hwe';
const PROBE_NODE = 'chaos-probe';
/** How long a SIGSTOP or a proxy stall lasts: past the 15 s lease and the 10 s renew deadline. */
const PAUSE_MS = 25_000;
/** How long a fault may take to recover before it counts as not recovered. */
const RECOVERY_TIMEOUT_MS = 240_000;
/**
 * A removal counts as a flap only if nothing that decides the label changed this long before
 * it: under faults a controller may act on a change that late (the worst recovery seen).
 */
const FLAP_LAG_MS = 120_000;

const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

function flag(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : def;
  if (!(v > 0)) throw new Error(`--${name}: give a positive number, not ${args[i + 1]}`);
  return v;
}

/** A small seeded generator, so that a run's sequence of changes can be repeated. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Retries `fn` while the apiserver is away (connection errors, 5xx, 429), up to `ms`. */
async function retry<T>(what: string, fn: () => Promise<T>, ms = 300_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: ${String(e)}`);
      await sleep(500);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Programs under test, each restarted when it exits (as a kubelet restarts a container).

type Component = 'nfd-master' | 'nfd-gc' | 'kmm-operator' | 'kmm-webhook';

interface RssSample {
  t: number;
  v: number;
  pid: number;
}

class Replica {
  child: ChildProcess | undefined;
  identity: string | undefined;
  restarts = 0;
  exits: string[] = [];
  readonly rss: RssSample[] = [];
  stopped = false;
  private partial = '';
  /** A forked program said 'ready' since it was last started. */
  private isReady = false;
  private readonly log;
  private readyWaiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly component: Component,
    private readonly launch: (r: Replica) => ChildProcess,
    logDir: string,
    readonly proxy?: RemoteProxy,
  ) {
    this.log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  }

  start(): void {
    const child = this.launch(this);
    this.child = child;
    this.isReady = false;
    child.stderr?.on('data', (d: Buffer) => {
      this.log.write(d);
      const text = this.partial + d.toString();
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      for (const l of lines) {
        if (/acquired lease/.test(l)) this.identity = /"identity":"([^"]+)"/.exec(l)?.[1];
      }
    });
    child.on('message', (m: { type?: string }) => {
      if (m.type !== 'ready') return;
      this.isReady = true;
      for (const w of this.readyWaiters.splice(0)) w();
    });
    child.on('exit', (code, sig) => {
      this.exits.push(`${new Date().toISOString()} ${sig ?? `exit ${code}`}`);
      this.log.write(`--- exited: ${sig ?? code}\n`);
      if (this.stopped) return;
      this.restarts++;
      setTimeout(() => !this.stopped && this.start(), 1000);
    });
  }

  /** For forked programs: resolves at their 'ready' message. */
  ready(): Promise<void> {
    if (this.isReady) return Promise.resolve();
    return new Promise((r) => this.readyWaiters.push(r));
  }

  signal(sig: NodeJS.Signals): void {
    try {
      this.child?.kill(sig);
    } catch {
      // gone already
    }
  }

  sample(): void {
    const pid = this.child?.pid;
    if (!pid || this.child?.exitCode !== null) return;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) this.rss.push({ t: Date.now(), v: Number(m[1]) / 1024, pid });
    } catch {
      // exited meanwhile
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGCONT');
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        c.kill('SIGKILL');
        resolve();
      }, 10_000);
      c.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      c.kill('SIGTERM');
    });
    this.log.end();
  }
}

/** A fault proxy in the proxies' process. */
interface RemoteProxy {
  port: number;
  drop(): Promise<number>;
  stall(): Promise<void>;
  resume(): Promise<void>;
}

/** Starts `count` fault proxies to `port` in a process of their own (bench/_fault-proxies.ts). */
async function startProxies(
  port: number,
  count: number,
): Promise<{ proxies: RemoteProxy[]; child: ChildProcess }> {
  const child = fork(join(HERE, '_fault-proxies.js'), [String(port), String(count)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ports = await new Promise<number[]>((resolve) =>
    child.once('message', (m: { ports: number[] }) => resolve(m.ports)),
  );
  const ask = (index: number, op: string) =>
    new Promise<number>((resolve) => {
      const on = (m: { type?: string; index?: number; n?: number }) => {
        if (m.type !== 'done' || m.index !== index) return;
        child.off('message', on);
        resolve(m.n ?? 0);
      };
      child.on('message', on);
      child.send({ op, index });
    });
  return {
    child,
    proxies: ports.map((p, i) => ({
      port: p,
      drop: () => ask(i, 'drop'),
      stall: () => ask(i, 'stall').then(() => undefined),
      resume: () => ask(i, 'resume').then(() => undefined),
    })),
  };
}

/** A kubeconfig like the cluster's, with the server at the proxy's port. */
function proxiedKubeconfig(cluster: LocalCluster, dir: string, name: string, port: number): string {
  const server = cluster.state.server;
  const text = readFileSync(cluster.kubeconfig, 'utf8');
  if (!text.includes(server)) throw new Error(`${cluster.kubeconfig} does not name ${server}`);
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(file, text.split(server).join(`https://127.0.0.1:${port}`), { mode: 0o600 });
  return file;
}

// ---------------------------------------------------------------------------------------------
// The world: nodes, NodeFeatures, rules, Modules.

type NF = ReturnType<typeof nodeFeatureFor>;

function moduleObject(name: string, selector: Record<string, string>, regexp: string, args = '') {
  return {
    apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
    kind: 'Module',
    metadata: { name, namespace: KMM_NS },
    spec: {
      selector,
      moduleLoader: {
        container: {
          modprobe: { moduleName: `chaos_${name}`, ...(args ? { args: { load: [args] } } : {}) },
          kernelMappings: [
            { regexp, containerImage: `registry.example/chaos/${name}:\${KERNEL_FULL_VERSION}` },
          ],
        },
      },
    },
  } as unknown as Module;
}

/** A rule with every kind of output nfd-master writes: label, annotation, resource, taint. */
function extraRule(gen: number): NodeFeatureRule {
  return {
    apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
    kind: 'NodeFeatureRule',
    metadata: { name: 'chaos-extra' },
    spec: {
      rules: [
        {
          name: 'chaos-extra',
          labels: { 'chaos-rule': `g${gen}` },
          annotations: { 'chaos-note': `g${gen}` },
          extendedResources: { 'chaos-units': String((gen % 7) + 1) },
          taints: [{ key: `${F}/chaos-taint`, value: `g${gen}`, effect: 'PreferNoSchedule' }],
          matchFeatures: [
            { feature: 'kernel.version', matchExpressions: { major: { op: 'Exists' } } },
          ],
        },
      ],
    },
  } as NodeFeatureRule;
}
const EXTRA_KEYS = [`${F}/chaos-rule`, `${F}/chaos-note`, `${F}/chaos-units`, `${F}/chaos-taint`];

const TEMP_RULE: NodeFeatureRule = {
  apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
  kind: 'NodeFeatureRule',
  metadata: { name: 'chaos-temp' },
  spec: {
    rules: [
      {
        name: 'chaos-temp',
        labels: { 'chaos-temp': 'true' },
        matchFeatures: [
          { feature: 'kernel.loadedmodule', matchExpressions: { veth: { op: 'Exists' } } },
        ],
      },
    ],
  },
} as NodeFeatureRule;

interface World {
  client: KubeClient;
  profiles: NF[];
  /** Live nodes the driver may touch (the probe node is not among them). */
  nodes: string[];
  inputs: InputChange[];
  gen: number;
  added: number;
  writes: { ok: number; failed: number; byAction: Record<string, number> };
  /** Module writes: each one passes the webhook. */
  admissions: { total: number; webhookFailures: number; slowest: number; failures: string[] };
}

function nodeSpec(name: string, i: number): SimNodeSpec {
  return {
    name,
    kernelVersion: KERNELS[i % KERNELS.length],
    labels: {
      ...(i % 3 !== 2 ? { [`${SEL}/gpu`]: 'yes' } : {}),
      ...(i % 2 === 0 ? { [`${SEL}/nic`]: 'yes' } : {}),
    },
  };
}

function nodeFeature(w: World, node: string, i: number): NF {
  const nf = nodeFeatureFor(w.profiles[i % w.profiles.length]!, node);
  nf.metadata.namespace = NFD_NS;
  return nf;
}

const nfPath = (node: string) =>
  `/apis/nfd.k8s-sigs.io/v1alpha1/namespaces/${NFD_NS}/nodefeatures/${node}`;
const mergePatch = (client: KubeClient, path: string, body: unknown) =>
  client.request(path, { method: 'PATCH', contentType: 'application/merge-patch+json', body });

async function moduleWrite(w: World, fn: () => Promise<unknown>): Promise<void> {
  const t = Date.now();
  w.admissions.total++;
  try {
    await fn();
  } catch (e) {
    if (/failed calling webhook/.test(String(e))) {
      w.admissions.webhookFailures++;
      w.admissions.failures.push(String(e).slice(0, 300));
    }
    throw e;
  } finally {
    w.admissions.slowest = Math.max(w.admissions.slowest, Date.now() - t);
  }
}

type Action = [string, number, (w: World, r: () => number) => Promise<void>];

const pick = <T>(xs: T[], r: () => number): T => xs[Math.floor(r() * xs.length)]!;

const ACTIONS: Action[] = [
  [
    'NodeFeature edited',
    30,
    async (w, r) => {
      const node = pick(w.nodes, r);
      w.inputs.push({ t: Date.now(), node });
      const body =
        r() < 0.5
          ? { spec: { labels: { 'chaos-gen': `g${++w.gen}` } } }
          : {
              spec: {
                features: {
                  flags: { 'kernel.loadedmodule': { elements: { veth: r() < 0.5 ? null : {} } } },
                },
              },
            };
      await mergePatch(w.client, nfPath(node), body);
    },
  ],
  [
    'NodeFeatureRule edited',
    8,
    async (w) => {
      w.inputs.push({ t: Date.now(), keys: EXTRA_KEYS });
      const path = '/apis/nfd.k8s-sigs.io/v1alpha1/nodefeaturerules/chaos-extra';
      await mergePatch(w.client, path, { spec: extraRule(++w.gen).spec });
    },
  ],
  [
    'NodeFeatureRule added or deleted',
    4,
    async (w) => {
      w.inputs.push({ t: Date.now(), keys: [`${F}/chaos-temp`] });
      const api = new ResourceClient(w.client, NodeFeatureRules, 'chaos-driver');
      if (!(await api.deleteIfExists('chaos-temp')))
        await api.create(structuredClone(TEMP_RULE) as never);
    },
  ],
  [
    'node selected or unselected',
    15,
    async (w, r) => {
      const node = pick(w.nodes, r);
      w.inputs.push({ t: Date.now(), node });
      const n = await w.client.request<KubeObject>(`/api/v1/nodes/${node}`);
      const on = n.metadata.labels?.[`${SEL}/nic`] === 'yes';
      await mergePatch(w.client, `/api/v1/nodes/${node}`, {
        metadata: { labels: { [`${SEL}/nic`]: on ? null : 'yes' } },
      });
    },
  ],
  [
    'node rebooted',
    10,
    async (w, r) => {
      const node = pick(w.nodes, r);
      w.inputs.push({ t: Date.now(), node });
      if (r() < 0.5) await rebootNode(w.client, node);
      else await upgradeKernel(w.client, node, pick(NEW_KERNELS, r));
    },
  ],
  [
    'node replaced',
    4,
    async (w, r) => {
      const old = pick(w.nodes, r);
      const name = `chaos-new-${String(++w.added).padStart(4, '0')}`;
      w.nodes = w.nodes.filter((n) => n !== old);
      w.inputs.push({ t: Date.now(), node: old }, { t: Date.now(), node: name });
      await deleteSimNodes(w.client, [old]);
      const i = Math.floor(r() * 1000);
      // The node first, then its NodeFeature, as the worker on a new node publishes it.
      await createSimNodes(w.client, [nodeSpec(name, i)]);
      await w.client.request(`/apis/nfd.k8s-sigs.io/v1alpha1/namespaces/${NFD_NS}/nodefeatures`, {
        method: 'POST',
        body: nodeFeature(w, name, i),
      });
      w.nodes.push(name);
    },
  ],
  [
    'Module added or deleted',
    3,
    async (w) => {
      w.inputs.push({ t: Date.now(), keys: [readyLabel(KMM_NS, 'extra')] });
      const api = new ResourceClient<Module>(w.client, Modules, 'chaos-driver');
      const m = await api.find('extra', KMM_NS);
      if (m) {
        if (!m.metadata.deletionTimestamp) await api.delete('extra', { namespace: KMM_NS });
      } else {
        await moduleWrite(w, () =>
          api.create(moduleObject('extra', { [`${SEL}/gpu`]: 'yes' }, '^6\\.')),
        );
      }
    },
  ],
  [
    'Module edited',
    2,
    async (w) => {
      w.inputs.push({ t: Date.now(), keys: [readyLabel(KMM_NS, 'nic')] });
      await moduleWrite(w, () =>
        mergePatch(w.client, `/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${KMM_NS}/modules/nic`, {
          spec: moduleObject('nic', { [`${SEL}/nic`]: 'yes' }, '.*', `debug=${++w.gen}`).spec,
        }),
      );
    },
  ],
];

async function runDriver(w: World, stepMs: number, until: () => boolean): Promise<void> {
  const r = rng(21);
  const total = ACTIONS.reduce((a, x) => a + x[1], 0);
  while (!until()) {
    let x = r() * total;
    const action = ACTIONS.find((a) => (x -= a[1]) < 0) ?? ACTIONS[0]!;
    try {
      await action[2](w, r);
      w.writes.ok++;
      w.writes.byAction[action[0]] = (w.writes.byAction[action[0]] ?? 0) + 1;
    } catch {
      w.writes.failed++;
    }
    await sleep(stepMs);
  }
}

/**
 * Asks the apiserver to admit a Module every second (a dry run: the webhook is asked, nothing is
 * stored), so that the webhook's answers are counted all through the faults.
 */
async function admissionProbe(w: World, until: () => boolean): Promise<void> {
  const body = moduleObject('admission-probe', { [`${SEL}/none`]: 'yes' }, '.*');
  while (!until()) {
    await moduleWrite(w, () =>
      w.client.request(`/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${KMM_NS}/modules`, {
        method: 'POST',
        query: { dryRun: 'All' },
        body,
      }),
    ).catch(() => undefined);
    await sleep(1000);
  }
}

/** Stands in for the image controller: every image a ModuleImagesConfig lists exists. */
function imagesExist(client: KubeClient, until: () => boolean): Promise<void> {
  const mics = new ResourceClient(client, ModuleImagesConfigs, 'chaos-images');
  return (async () => {
    while (!until()) {
      try {
        for (const mic of (await mics.list({ namespace: KMM_NS })).items as {
          metadata: { name: string };
          spec: { images?: { image: string }[] };
          status?: { imagesStates?: { image: string; status: string }[] };
        }[]) {
          const want = (mic.spec.images ?? []).map((i) => i.image);
          const have = new Set(
            (mic.status?.imagesStates ?? [])
              .filter((s) => s.status === 'Exists')
              .map((s) => s.image),
          );
          if (want.every((i) => have.has(i))) continue;
          await mics.patchStatus(
            mic.metadata.name,
            { status: { imagesStates: want.map((image) => ({ image, status: 'Exists' })) } },
            { namespace: KMM_NS },
          );
        }
      } catch {
        // the apiserver is away; next round
      }
      await sleep(1000);
    }
  })();
}

// ---------------------------------------------------------------------------------------------
// Observers: label changes on nodes, worker pods.

function watchNodes(client: KubeClient, changes: LabelChange[]): Informer<ChaosNode> {
  const inf = new Informer<ChaosNode>(new ResourceClient<ChaosNode>(client, Nodes));
  const tracked = (k: string) => isNfdKey(k) || isOwnedNodeLabel(k);
  inf.addEventHandler({
    onUpdate: (o, n) => {
      const a = o.metadata.labels ?? {};
      const b = n.metadata.labels ?? {};
      const t = Date.now();
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (tracked(k) && a[k] !== b[k])
          changes.push({ t, node: n.metadata.name!, key: k, value: b[k] });
      }
    },
  });
  inf.start();
  return inf;
}

function watchWorkerPods(client: KubeClient, overlap: WorkerPodOverlap): Informer<WorkerPodView> {
  const inf = new Informer<WorkerPodView>(new ResourceClient<WorkerPodView>(client, Pods), {
    namespace: KMM_NS,
    labelSelector: `${WORKER_LABELS.role}=worker`,
  });
  inf.addEventHandler({
    onAdd: (p) => overlap.observe(p),
    onUpdate: (_o, p) => overlap.observe(p),
    onDelete: (p) => overlap.observe(p, true),
  });
  inf.start();
  return inf;
}

// ---------------------------------------------------------------------------------------------
// Invariants, read from the cluster.

interface Check {
  nfd: Record<string, number>;
  kmm: Record<string, number>;
  violations: number;
  detail: string[];
}

async function check(client: KubeClient): Promise<Check> {
  const nodes = (await new ResourceClient<ChaosNode>(client, Nodes).listAll({ pageSize: 500 }))
    .items;
  const nfs = (await new ResourceClient(client, NodeFeatures).listAll({ namespace: NFD_NS }))
    .items as unknown as Record<string, unknown>[];
  const rules = (await new ResourceClient(client, NodeFeatureRules).listAll()).items;
  const modules = (await new ResourceClient<Module>(client, Modules).listAll({ namespace: KMM_NS }))
    .items;
  const nmcs = (await new ResourceClient<NodeModulesConfig>(client, NodeModulesConfigs).listAll())
    .items;
  const pods = (
    await new ResourceClient<WorkerPodView>(client, Pods).listAll({
      namespace: KMM_NS,
      labelSelector: `${WORKER_LABELS.role}=worker`,
    })
  ).items;
  const policy = { ...DEFAULT_POLICY, enableTaints: true };
  const nfByNode = new Map<string, Record<string, unknown>[]>();
  for (const nf of nfs) {
    const node = (nf.metadata as KubeObject['metadata']).labels?.[
      'nfd.node.kubernetes.io/node-name'
    ];
    if (node) nfByNode.set(node, [...(nfByNode.get(node) ?? []), nf]);
  }
  const nodeNames = new Set(nodes.map((n) => n.metadata.name!));
  const nfd: Record<string, number> = {
    'labels wrong': 0,
    'labels missing': 0,
    'labels extra': 0,
    'annotations wrong/missing/extra': 0,
    'taints wrong/missing/extra': 0,
    'extended resources wrong/missing/extra': 0,
    'NodeFeatures of deleted nodes': 0,
  };
  const nfdDetail: string[] = [];
  const kmmDetail: string[] = [];
  for (const n of nodes) {
    const mine = nfByNode.get(n.metadata.name!) ?? [];
    if (!mine.length) continue;
    const want = evaluateNode(
      mine.map((o) => readNodeFeature(o, '')),
      rules,
      policy,
      NFD_NS,
    ).output;
    const r = compareNfdNode(n, want);
    nfd['labels wrong']! += r.labels.wrong;
    nfd['labels missing']! += r.labels.missing;
    nfd['labels extra']! += r.labels.extra;
    const sum = (m: { wrong: number; missing: number; extra: number }) =>
      m.wrong + m.missing + m.extra;
    nfd['annotations wrong/missing/extra']! += sum(r.annotations);
    nfd['taints wrong/missing/extra']! += sum(r.taints);
    nfd['extended resources wrong/missing/extra']! += sum(r.extendedResources);
    const bad = Object.entries(r).filter(([, m]) => sum(m) > 0);
    if (bad.length && nfdDetail.length < 5)
      nfdDetail.push(
        `${n.metadata.name}: ${bad.map(([k, m]) => `${k} ${JSON.stringify(m)}`).join(', ')}`,
      );
  }
  for (const node of nfByNode.keys())
    if (!nodeNames.has(node)) nfd['NodeFeatures of deleted nodes']!++;

  const live = modules.filter((m) => !m.metadata.deletionTimestamp) as unknown as ChaosModule[];
  const nmcByNode = new Map(nmcs.map((x) => [x.metadata.name!, x]));
  const kmm: Record<string, number> = {
    'nodes missing a ready label': 0,
    'ready labels of modules not selected': 0,
    'NMC entries missing': 0,
    'stale NMC entries': 0,
    'modules still loaded where not selected': 0,
    'modules not loaded (or stuck loading)': 0,
    'NMCs of deleted nodes': 0,
    'orphan worker pods': 0,
    'worker pods still in flight': 0,
    'Modules still Progressing': 0,
    'Modules stuck deleting': 0,
  };
  for (const n of nodes) {
    const c = checkKmmNode(n, nmcByNode.get(n.metadata.name!), live);
    kmm['nodes missing a ready label']! += c.missingLabel;
    kmm['ready labels of modules not selected']! += c.extraLabel;
    kmm['NMC entries missing']! += c.missingEntry;
    kmm['stale NMC entries']! += c.staleEntry;
    kmm['modules still loaded where not selected']! += c.staleStatus;
    kmm['modules not loaded (or stuck loading)']! += c.notLoaded;
    if (Object.values(c).some((v) => v > 0) && kmmDetail.length < 5)
      kmmDetail.push(
        `${n.metadata.name} (${n.status?.nodeInfo?.kernelVersion}): ${JSON.stringify(c)}`,
      );
  }
  for (const name of nmcByNode.keys()) if (!nodeNames.has(name)) kmm['NMCs of deleted nodes']!++;
  const p = checkWorkerPods(pods, nodeNames, nmcByNode);
  kmm['orphan worker pods'] = p.orphans;
  kmm['worker pods still in flight'] = p.lingering;
  for (const m of modules) {
    if (m.metadata.deletionTimestamp) {
      kmm['Modules stuck deleting']!++;
      continue;
    }
    // Available below desired with no progress is Degraded (nodes whose kernel no mapping
    // covers count as desired), which the gpu and extra Modules are by design; transitional is
    // Progressing.
    const progressing = (m.status?.conditions ?? []).some(
      (c) => c.type === 'Progressing' && c.status === 'True',
    );
    if (progressing) {
      kmm['Modules still Progressing']!++;
      if (kmmDetail.length < 8)
        kmmDetail.push(`Module ${m.metadata.name}: ${JSON.stringify(m.status)}`);
    }
  }
  const violations = [...Object.values(nfd), ...Object.values(kmm)].reduce((a, b) => a + b, 0);
  return { nfd, kmm, violations, detail: [...nfdDetail, ...kmmDetail] };
}

// ---------------------------------------------------------------------------------------------
// Faults and recovery.

interface Probe {
  gen: number;
  kmmOn: boolean;
}

/** A probe change on the probe node; resolves with the time until each controller acted on it. */
async function probe(
  client: KubeClient,
  p: Probe,
  t0: number,
): Promise<{ nfd?: number; kmm?: number }> {
  const gen = `p${++p.gen}`;
  p.kmmOn = !p.kmmOn;
  const on = p.kmmOn;
  await retry('probe NodeFeature', () =>
    mergePatch(client, nfPath(PROBE_NODE), { spec: { labels: { 'chaos-probe': gen } } }),
  );
  await retry('probe node label', () =>
    mergePatch(client, `/api/v1/nodes/${PROBE_NODE}`, {
      metadata: { labels: { [`${SEL}/probe`]: on ? 'yes' : null } },
    }),
  );
  const out: { nfd?: number; kmm?: number } = {};
  const ready = readyLabel(KMM_NS, 'probe');
  const deadline = t0 + RECOVERY_TIMEOUT_MS;
  while (Date.now() < deadline && (out.nfd === undefined || out.kmm === undefined)) {
    try {
      const n = await client.request<KubeObject>(`/api/v1/nodes/${PROBE_NODE}`);
      const l = n.metadata.labels ?? {};
      if (out.nfd === undefined && l[`${F}/chaos-probe`] === gen) out.nfd = Date.now() - t0;
      if (out.kmm === undefined && ready in l === on) out.kmm = Date.now() - t0;
    } catch {
      // the apiserver is away
    }
    await sleep(250);
  }
  return out;
}

interface FaultRecord {
  kind: string;
  at: string;
  detail: string;
  /** ms from the fault's start until each controller acted on a change made at the start. */
  nfd?: number;
  kmm?: number;
  recovered: boolean;
  competing?: CompetingWrites;
}

async function leaderOf(
  client: KubeClient,
  ns: string,
  name: string,
  replicas: Replica[],
): Promise<Replica | undefined> {
  const lease = (await retry('lease', () => new ResourceClient(client, Leases).find(name, ns))) as
    { spec?: { holderIdentity?: string } } | undefined;
  const holder = lease?.spec?.holderIdentity;
  return replicas.find((r) => r.identity === holder);
}

interface Fleet {
  cluster: LocalCluster;
  nfd: Replica[];
  gc: Replica;
  kmm: Replica[];
  webhook: Replica;
}

/** What the competing writer did, and the conflicts it caused the controllers. */
interface CompetingWrites {
  /** Its writes that landed. */
  writes: number;
  /** Its writes refused with 409: a controller wrote the object after it was read. */
  refused: number;
  /** 409s the controllers got on Nodes and NMCs meanwhile, per `resource[/sub] VERB`. */
  controllers: Record<string, number>;
}

/** How long the competing writer holds what it read before writing it back. */
const COMPETING_HOLD_MS = 500;

/**
 * A writer racing the controllers for `ms`, as another controller would: it reads a Node or an
 * NMC, holds it a moment, and writes it back whole (PUT) with the resourceVersion it read. A
 * controller that wrote in between gets its write refused with 409; a write that lands moves
 * the resourceVersion under the controllers, whose guarded writes (NMC status and spec,
 * nfd-master's taints) are then refused with 409. The apiserver's counts of 409s on Nodes and
 * NMCs by verb tell them apart: the writer only PUTs, the controllers PATCH and DELETE. Counted
 * until 10 s after the writer stops, for the controllers' retries from stale caches.
 */
async function competingWriter(
  client: KubeClient,
  nodes: string[],
  ms: number,
): Promise<CompetingWrites> {
  const resources = new Set(['nodes', 'nodemodulesconfigs']);
  const conflicts = async () =>
    conflictCounts(await client.requestText('/metrics', {}, 'text/plain'), resources);
  const before = await retry('apiserver metrics', conflicts);
  const end = Date.now() + ms;
  const out: CompetingWrites = { writes: 0, refused: 0, controllers: {} };
  let n = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < end) {
        const node = nodes[n++ % nodes.length]!;
        for (const path of [
          `/api/v1/nodes/${node}`,
          `/apis/kmm.sigs.x-k8s.io/v1beta1/nodemodulesconfigs/${node}`,
        ]) {
          try {
            const o = await client.request<KubeObject>(path);
            await sleep(COMPETING_HOLD_MS);
            o.metadata.annotations = { ...o.metadata.annotations, [`${SEL}/competitor`]: `${n}` };
            await client.request(path, { method: 'PUT', body: o });
            out.writes++;
          } catch (e) {
            if (isKubeError(e, 'Conflict')) out.refused++;
          }
        }
      }
    }),
  );
  await sleep(10_000);
  const grown = countsSince(before, await retry('apiserver metrics', conflicts));
  for (const [k, v] of grown) if (!k.endsWith(' PUT')) out.controllers[k] = v;
  return out;
}

/** Total of a count record. */
const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

const FAULTS = [
  'SIGKILL nfd-master leader (and nfd-gc)',
  'SIGKILL KMM operator leader',
  'kube-apiserver restart',
  'proxy drops connections',
  'competing writer (409 burst)',
  'etcd restart',
  'SIGSTOP nfd-master leader past its lease',
  'SIGSTOP KMM operator leader past its lease',
  'proxy stalls connections',
] as const;
type FaultKind = (typeof FAULTS)[number];

interface Injected {
  detail: string;
  done: Promise<void>;
  /** For the competing writer, once done. */
  competing?: CompetingWrites;
}

async function inject(kind: FaultKind, f: Fleet, w: World): Promise<Injected> {
  const client = f.cluster.client;
  const leaders = async () => ({
    nfd: await leaderOf(client, NFD_NS, NFD_LEASE, f.nfd),
    kmm: await leaderOf(client, KMM_NS, KMM_LEASE, f.kmm),
  });
  const pause = async (r: Replica | undefined) => {
    if (!r) return;
    r.signal('SIGSTOP');
    await sleep(PAUSE_MS);
    r.signal('SIGCONT');
  };
  switch (kind) {
    case 'SIGKILL nfd-master leader (and nfd-gc)': {
      const l = (await leaders()).nfd;
      l?.signal('SIGKILL');
      f.gc.signal('SIGKILL');
      return { detail: `killed ${l?.name ?? 'no leader found'}`, done: Promise.resolve() };
    }
    case 'SIGKILL KMM operator leader': {
      const l = (await leaders()).kmm;
      l?.signal('SIGKILL');
      return { detail: `killed ${l?.name ?? 'no leader found'}`, done: Promise.resolve() };
    }
    case 'SIGSTOP nfd-master leader past its lease': {
      const l = (await leaders()).nfd;
      return { detail: `stopped ${l?.name} for ${PAUSE_MS / 1000} s`, done: pause(l) };
    }
    case 'SIGSTOP KMM operator leader past its lease': {
      const l = (await leaders()).kmm;
      return { detail: `stopped ${l?.name} for ${PAUSE_MS / 1000} s`, done: pause(l) };
    }
    case 'kube-apiserver restart':
    case 'etcd restart': {
      const c = kind === 'etcd restart' ? 'etcd' : 'kube-apiserver';
      // A loaded machine can take minutes to report ready; the probes tell when it serves again.
      // A component that does not come back leaves no cluster to measure: the run stops.
      const done = f.cluster.restartComponent(c, RECOVERY_TIMEOUT_MS).catch((e: unknown) => {
        throw new Error(`${c} did not start again: ${String(e)}`);
      });
      return { detail: `${c} stopped and started`, done };
    }
    case 'proxy drops connections': {
      const all = [...f.nfd, f.gc, ...f.kmm];
      let n = 0;
      for (const r of all) n += (await r.proxy?.drop()) ?? 0;
      return { detail: `${n} connections reset`, done: Promise.resolve() };
    }
    case 'proxy stalls connections': {
      const l = await leaders();
      const stalled = [l.nfd, l.kmm].filter((r): r is Replica => !!r);
      for (const r of stalled) await r.proxy?.stall();
      const done = sleep(PAUSE_MS).then(async () => {
        for (const r of stalled) await r.proxy?.resume();
      });
      return {
        detail: `${stalled.map((r) => r.name).join(', ')} stalled for ${PAUSE_MS / 1000} s`,
        done,
      };
    }
    case 'competing writer (409 burst)': {
      const rec: Injected = { detail: 'competing writer for 15 s', done: Promise.resolve() };
      rec.done = competingWriter(client, w.nodes, 15_000).then((c) => {
        rec.competing = c;
        rec.detail = `${c.writes} competing writes landed, ${c.refused} refused with 409; ${total(c.controllers)} controller writes refused with 409 (${JSON.stringify(c.controllers)})`;
      });
      return rec;
    }
  }
}

// ---------------------------------------------------------------------------------------------

export default async function chaos(args: string[]): Promise<void> {
  const nNodes = flag(args, 'nodes', 1000);
  const minutes = flag(args, 'minutes', 10);
  const stepMs = flag(args, 'step-ms', 2000);
  const leaseS = flag(args, 'lease-seconds', 600);
  const quietMinutes = flag(args, 'quiet-minutes', 15);
  const ri = args.indexOf('--report');
  const reportFile =
    ri >= 0
      ? args[ri + 1]!
      : join(tmpdir(), `hwe-chaos-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await ensureK8sBox((l) => log(l));
  const runDir = mkdtempSync(join(tmpdir(), 'hwe-chaos-'));
  console.log(
    `chaos: ${nNodes} nodes on ${KERNELS.length} kernels, ${minutes} min of faults; machine ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)}; logs in ${runDir}`,
  );
  log('reading NodeFeatures of the fixture hosts');
  const ps = await profiles();
  const rules = ruleSet(20, ps);

  log('starting a local control plane');
  const cluster = await benchCluster(NFD_NS, { nodeLeaseDurationSeconds: leaseS });
  const client = cluster.client;
  const stopping = { now: false };
  const replicas: Replica[] = [];
  let proxyHost: ChildProcess | undefined;
  const informers: Informer<KubeObject>[] = [];
  const background: Promise<void>[] = [];
  let rssTimer: ReturnType<typeof setInterval> | undefined;
  // Interrupted: the programs go with the bench (the control plane's watchdog sees to the rest).
  const interrupted = () => {
    for (const r of replicas) {
      r.stopped = true;
      r.signal('SIGCONT');
      r.signal('SIGKILL');
    }
    proxyHost?.kill('SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  // However the bench ends, the programs it started end with it.
  const orphans = () => {
    for (const r of replicas) r.signal('SIGKILL');
    proxyHost?.kill('SIGKILL');
  };
  process.on('exit', orphans);
  try {
    await client.request('/api/v1/namespaces', {
      method: 'POST',
      body: { metadata: { name: KMM_NS, labels: { [WEBHOOK_NS_LABEL]: '' } } },
    });
    await new ResourceClient(client, ServiceAccounts, 'chaos').create({
      metadata: { name: 'kmm-operator-module-loader', namespace: KMM_NS },
    });

    const w: World = {
      client,
      profiles: ps,
      nodes: [],
      inputs: [],
      gen: 0,
      added: 0,
      writes: { ok: 0, failed: 0, byAction: {} },
      admissions: { total: 0, webhookFailures: 0, slowest: 0, failures: [] },
    };
    const specs = simNodeSpecs(nNodes, 'chaos').map((s, i) => nodeSpec(s.name, i));
    w.nodes = specs.map((s) => s.name);
    let t = Date.now();
    await mapLimit(
      [...specs.map((s, i) => nodeFeature(w, s.name, i)), nodeFeature(w, PROBE_NODE, 0)],
      32,
      (nf) =>
        client.request(`/apis/nfd.k8s-sigs.io/v1alpha1/namespaces/${NFD_NS}/nodefeatures`, {
          method: 'POST',
          body: nf,
        }),
    );
    await createSimNodes(client, [...specs, { name: PROBE_NODE, kernelVersion: KERNELS[0] }], 32);
    log(`created ${nNodes + 1} nodes and their NodeFeatures in ${secs(Date.now() - t)}`);
    for (const r of [...rules, extraRule(0)])
      await client.request('/apis/nfd.k8s-sigs.io/v1alpha1/nodefeaturerules', {
        method: 'POST',
        body: r,
      });

    // The webhook, then the Modules through it.
    const webhookPort = await freePort();
    const vwcName = 'chaos-kmm-webhook';
    await new ResourceClient(client, ValidatingWebhookConfigurations, 'chaos').create(
      kmmWebhookConfiguration({
        name: vwcName,
        target: { url: `https://127.0.0.1:${webhookPort}` },
        namespaceSelector: { matchExpressions: [{ key: WEBHOOK_NS_LABEL, operator: 'Exists' }] },
        timeoutSeconds: WEBHOOK_TIMEOUT_S,
      }),
    );
    const certDir = join(runDir, 'webhook-certs');
    const env = { ...process.env, HWE_LOG_LEVEL: 'info' };
    const webhook = new Replica(
      'kmm-webhook',
      'kmm-webhook',
      () =>
        spawn(
          process.execPath,
          [
            HWE_MAIN,
            'kmm',
            'webhook',
            '--kubeconfig',
            cluster.kubeconfig,
            '--host',
            '127.0.0.1',
            '--port',
            String(webhookPort),
            '--cert-dir',
            certDir,
            '--ip',
            '127.0.0.1',
            '--secret-namespace',
            KMM_NS,
            '--secret-name',
            'chaos-webhook-cert',
            '--webhook-config-name',
            vwcName,
          ],
          { stdio: ['ignore', 'ignore', 'pipe'], env },
        ),
      runDir,
    );
    replicas.push(webhook);
    webhook.start();

    // Each controller through a proxy of its own.
    const names = ['nfd-master-a', 'nfd-master-b', 'nfd-gc', 'kmm-operator-a', 'kmm-operator-b'];
    const hosted = await startProxies(cluster.state.ports.apiserver!, names.length);
    proxyHost = hosted.child;
    const proxied = (name: string) => {
      const p = hosted.proxies[names.indexOf(name)]!;
      return { proxy: p, kubeconfig: proxiedKubeconfig(cluster, runDir, name, p.port) };
    };
    const nfdReplicas: Replica[] = [];
    for (const name of ['nfd-master-a', 'nfd-master-b']) {
      const { proxy, kubeconfig } = proxied(name);
      const r = new Replica(
        name,
        'nfd-master',
        () =>
          spawn(
            process.execPath,
            [
              HWE_MAIN,
              'nfd',
              'master',
              '-kubeconfig',
              kubeconfig,
              '-namespace',
              NFD_NS,
              '-port',
              '0',
              '-enable-leader-election',
              '-enable-taints',
            ],
            { stdio: ['ignore', 'ignore', 'pipe'], env },
          ),
        runDir,
        proxy,
      );
      nfdReplicas.push(r);
    }
    const gcConn = proxied('nfd-gc');
    const gc = new Replica(
      'nfd-gc',
      'nfd-gc',
      () =>
        spawn(
          process.execPath,
          [
            HWE_MAIN,
            'nfd',
            'gc',
            '-kubeconfig',
            gcConn.kubeconfig,
            '-port',
            '0',
            '-gc-interval',
            '1m',
          ],
          { stdio: ['ignore', 'ignore', 'pipe'], env },
        ),
      runDir,
      gcConn.proxy,
    );
    const kmmReplicas: Replica[] = [];
    for (const name of ['kmm-operator-a', 'kmm-operator-b']) {
      const { proxy, kubeconfig } = proxied(name);
      const r = new Replica(
        name,
        'kmm-operator',
        (self) =>
          fork(join(HERE, '_kmm-operator.js'), [kubeconfig, KMM_NS, `${name}-${self.restarts}`], {
            stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
            env,
          }),
        runDir,
        proxy,
      );
      kmmReplicas.push(r);
    }
    replicas.push(...nfdReplicas, gc, ...kmmReplicas);
    for (const r of [...nfdReplicas, gc, ...kmmReplicas]) r.start();
    // The bench's operator process names itself: its identity is known before it leads.
    for (const r of kmmReplicas) {
      await r.ready();
      r.identity = `${r.name}-${r.restarts}`;
    }
    const setKmmIdentity = () => {
      for (const r of kmmReplicas) r.identity = `${r.name}-${r.restarts}`;
    };
    rssTimer = setInterval(() => {
      setKmmIdentity();
      for (const r of replicas) r.sample();
    }, 5000);

    const driverClient = new KubeClient(loadKubeconfig([cluster.kubeconfig]));
    const workers = await startWorkerDriver(driverClient, () => 'succeed', {
      namespace: KMM_NS,
      concurrency: 32,
    });
    background.push(imagesExist(client, () => stopping.now));

    await retry(
      'Modules through the webhook',
      async () => {
        const api = new ResourceClient<Module>(client, Modules, 'chaos-driver');
        for (const [name, sel, re] of [
          ['gpu', `${SEL}/gpu`, '^5\\.14\\.'],
          ['nic', `${SEL}/nic`, '.*'],
          ['probe', `${SEL}/probe`, '.*'],
        ] as const) {
          if (!(await api.find(name, KMM_NS)))
            await moduleWrite(w, () => api.create(moduleObject(name, { [sel]: 'yes' }, re)));
        }
      },
      120_000,
    );

    const labelChanges: LabelChange[] = [];
    const overlap = new WorkerPodOverlap();
    informers.push(watchNodes(client, labelChanges), watchWorkerPods(client, overlap));

    // Converged before any fault.
    t = Date.now();
    const converge = async (limitMs: number, what: string): Promise<Check> => {
      const start = Date.now();
      let c = await retry('check', () => check(client));
      let best = c.violations;
      let bestAt = Date.now();
      while (c.violations > 0 && Date.now() - start < limitMs) {
        log(`${what}: ${c.violations} violations left; ${c.detail.slice(0, 4).join(' | ')}`);
        await sleep(10_000);
        c = await retry('check', () => check(client));
        if (c.violations < best) {
          best = c.violations;
          bestAt = Date.now();
        } else if (Date.now() - bestAt > 180_000) break;
      }
      return c;
    };
    const initial = await converge(1_200_000, 'initial convergence');
    console.log(
      `initial convergence: ${secs(Date.now() - t)} (${initial.violations} violations left, ${workers.done.succeeded} worker pods completed)`,
    );

    // Faults, while the driver changes the world.
    const chaosStart = Date.now();
    const chaosEnd = chaosStart + minutes * 60_000;
    const driverDone = runDriver(w, stepMs, () => Date.now() > chaosEnd);
    const admissionsDone = admissionProbe(w, () => Date.now() > chaosEnd);
    const p: Probe = { gen: 0, kmmOn: false };
    const faults: FaultRecord[] = [];
    const fleet: Fleet = { cluster, nfd: nfdReplicas, gc, kmm: kmmReplicas, webhook };
    let i = 0;
    let etcdDone = false;
    while (Date.now() < chaosEnd) {
      let kind = FAULTS[i++ % FAULTS.length]!;
      if (kind === 'etcd restart') {
        if (etcdDone) kind = 'kube-apiserver restart';
        etcdDone = true;
      }
      const t0 = Date.now();
      const at = new Date(t0).toISOString();
      w.inputs.push({ t: t0, node: PROBE_NODE });
      const injected = await inject(kind, fleet, w);
      // The probe, unless the fault itself fails first (then the run ends with its error).
      const failed = injected.done.then(() => new Promise<never>(() => undefined));
      const r = await Promise.race([probe(client, p, t0), failed]);
      await injected.done;
      const rec: FaultRecord = {
        kind,
        at,
        detail: injected.detail,
        ...r,
        recovered: r.nfd !== undefined && r.kmm !== undefined,
        ...(injected.competing ? { competing: injected.competing } : {}),
      };
      faults.push(rec);
      log(
        `fault ${kind}: ${rec.detail}; nfd-master acted after ${secs(r.nfd)}, KMM after ${secs(r.kmm)}`,
      );
      await sleep(5_000);
    }
    log('faults over; waiting for the driver');
    await driverDone;
    await admissionsDone;

    // Quiet, then the invariants.
    const quietStart = Date.now();
    const final = await converge(quietMinutes * 60_000, 'quiet');
    const quietMs = Date.now() - quietStart;
    const end = Date.now();
    await workers.stop();
    driverClient.close();

    const flaps = findFlaps(labelChanges, w.inputs, FLAP_LAG_MS);
    const duplicates = [...overlap.duplicates.values()].length;
    const half = chaosStart + (end - chaosStart) / 2;
    const memory = replicas.map((r) => {
      const pid = r.child?.pid;
      const window = r.rss.filter((s) => s.t >= half && s.pid === pid);
      const trend = memoryTrend(window);
      const covered =
        window.length >= 2 && window[window.length - 1]!.t - window[0]!.t >= (end - half) * 0.5;
      return { name: r.name, restarts: r.restarts, samples: window.length, covered, ...trend };
    });
    const byKind = FAULTS.map((k) => {
      const fs = faults.filter((f) => f.kind === k);
      const both = fs.map((f) =>
        Math.max(f.nfd ?? RECOVERY_TIMEOUT_MS, f.kmm ?? RECOVERY_TIMEOUT_MS),
      );
      return {
        kind: k,
        count: fs.length,
        notRecovered: fs.filter((f) => !f.recovered).length,
        nfd: medianWorst(fs.flatMap((f) => (f.nfd === undefined ? [] : [f.nfd]))),
        kmm: medianWorst(fs.flatMap((f) => (f.kmm === undefined ? [] : [f.kmm]))),
        both: medianWorst(both),
      };
    });

    const invariants: [string, number][] = [
      ...Object.entries(final.nfd).map(([k, v]) => [`NFD: ${k}`, v] as [string, number]),
      ...Object.entries(final.kmm).map(([k, v]) => [`KMM: ${k}`, v] as [string, number]),
      ['KMM: node+module pairs with two worker pods at once (whole run)', duplicates],
      ['labels removed and re-added with no input change (whole run)', flaps.length],
      ['admission requests the webhook failed to answer in time', w.admissions.webhookFailures],
      ['faults not recovered within 240 s', faults.filter((f) => !f.recovered).length],
      [
        'processes whose RSS grew over the last half',
        memory.filter((m) => m.covered && !m.flat).length,
      ],
    ];
    console.log(
      `\nchaos phase: ${minutes} min, ${faults.length} faults, ${w.writes.ok} changes by the driver (${w.writes.failed} refused or failed while the apiserver was away): ${JSON.stringify(w.writes.byAction)}`,
    );
    console.log(
      `quiet after ${secs(quietMs)}; worker pods completed by the kubelet stand-in: ${workers.done.succeeded}`,
    );
    console.log('\ninvariants (violations):');
    for (const [k, v] of invariants) console.log(`  ${String(v).padStart(6)}  ${k}`);
    for (const d of final.detail.slice(0, 10)) console.log(`    ${d}`);
    for (const f of flaps.slice(0, 5)) {
      const last = w.inputs
        .filter(
          (i) =>
            i.t <= f.removedAt &&
            (i.node === undefined || i.node === f.node) &&
            (i.keys === undefined || i.keys.includes(f.key)),
        )
        .pop();
      console.log(
        `    flap: ${f.node} ${f.key} removed ${new Date(f.removedAt).toISOString()}, back after ${secs(f.readdedAt - f.removedAt)}; last input change for it ${last ? `${secs(f.removedAt - last.t)} before` : 'never'}`,
      );
    }
    console.log(
      `  webhook: ${w.admissions.total} Module admissions asked by the driver (one a second, dry run, and its Module writes), slowest ${secs(w.admissions.slowest)} (timeout ${WEBHOOK_TIMEOUT_S} s)`,
    );
    console.log(
      '\nrecovery per fault kind (fault start → both controllers acted on a change made then):',
    );
    for (const k of byKind) {
      if (!k.count) continue;
      console.log(
        `  ${k.kind.padEnd(44)} n=${k.count}  median ${secs(k.both.median)}  worst ${secs(k.both.worst)}   (nfd-master ${secs(k.nfd.median)}/${secs(k.nfd.worst)}, KMM ${secs(k.kmm.median)}/${secs(k.kmm.worst)})${k.notRecovered ? `  ${k.notRecovered} NOT RECOVERED` : ''}`,
      );
    }
    const competing = faults.flatMap((f) => (f.competing ? [f.competing] : []));
    const conflicts = {
      writerLanded: competing.reduce((a, c) => a + c.writes, 0),
      writerRefused: competing.reduce((a, c) => a + c.refused, 0),
      controllersRefused: competing.reduce((a, c) => a + total(c.controllers), 0),
    };
    if (competing.length) {
      console.log(
        `  competing writer: ${conflicts.writerLanded} writes landed, ${conflicts.writerRefused} refused with 409; the controllers got ${conflicts.controllersRefused} writes refused with 409 meanwhile (the apiserver's counts)`,
      );
    }
    console.log(
      '  nfd-gc: one replica without leader election, as upstream deploys it (its only fault is SIGKILL)',
    );
    console.log('\nmemory over the last half (RSS slope):');
    for (const m of memory) {
      console.log(
        `  ${m.name.padEnd(16)} ${m.covered ? `${m.slopeMiBPerMin >= 0 ? '+' : ''}${m.slopeMiBPerMin.toFixed(2)} MiB/min, mean ${m.meanMiB.toFixed(0)} MiB${m.flat ? ', flat' : ', GROWING'}` : 'restarted late in the run: no slope'}; restarts ${m.restarts}`,
      );
    }
    writeFileSync(
      reportFile,
      JSON.stringify(
        {
          nodes: nNodes,
          kernels: KERNELS.length,
          minutes,
          startedAt: new Date(chaosStart).toISOString(),
          quietMs,
          invariants: Object.fromEntries(invariants),
          detail: final.detail,
          flaps: flaps.slice(0, 100),
          faults,
          recovery: byKind,
          conflicts,
          memory,
          driver: w.writes,
          admissions: w.admissions,
          restarts: Object.fromEntries(replicas.map((r) => [r.name, r.exits])),
          workerPodsCompleted: workers.done.succeeded,
        },
        null,
        2,
      ),
    );
    console.log(`\nreport: ${reportFile}`);
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted).off('exit', orphans);
    stopping.now = true;
    if (rssTimer) clearInterval(rssTimer);
    await Promise.all(replicas.map((r) => r.stop()));
    await Promise.all(informers.map((i) => i.stop()));
    await Promise.all(background);
    proxyHost?.kill('SIGTERM');
    await cluster.stop();
  }
}
