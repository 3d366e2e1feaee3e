/**
 * nfd-master at scale, on a private local control plane with simulated (kwok) nodes:
 *   - rule evaluation throughput: node×rule evaluations per second on one core (rules compiled
 *     once, as the master does), and the master's whole per-node computation (merge, rules,
 *     label policy);
 *   - time until every node carries its labels when the master starts, and after one
 *     NodeFeatureRule changes;
 *   - Node writes (changes to labels, annotations, taints or capacity; kwok's heartbeats do not
 *     count) during an idle period, and the master's CPU seconds per idle minute;
 *   - the master's RSS (it runs as a child process: `hwe nfd master`).
 * NodeFeatures come from the fixture hosts (`hwe nfd worker --oneshot --no-publish --host-root`)
 * in four machine profiles.
 *
 * Usage: nfd-master [--nodes 5000] [--rules 50] [--idle 300] [--parallelism 32] [--runs 5]
 *                   [--lease-seconds 600]
 *
 * kwok renews each simulated node's Lease every quarter of --lease-seconds. A kubelet uses 40 s
 * (a renewal every 10 s); for 5,000 nodes that is 500 writes a second, which take about 1.3 of
 * a 2-core machine's cores (apiserver, etcd, kwok, controller-manager) before the master does
 * anything: a cluster of that size has a control plane many times bigger. The default of 600 s
 * keeps the simulation's own load small; the figures with 40 s are worth printing too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createSimNodes, simNodeSpecs } from '../src/cluster/nodes.js';
import {
  applyLabelPolicy,
  DEFAULT_POLICY,
  evaluateNode,
  readNodeFeature,
  type NodeFeatureObject,
} from '../src/nfd/eval/index.js';
import {
  addDefaultNamespace,
  compileRules,
  processRules,
  type NodeFeatureRule,
  type Rule,
} from '../src/nfd/rules/index.js';
import type { KubeClient } from '../src/runtime/client.js';
import { mapLimit, Nodes, ResourceClient, type KubeObject } from '../src/runtime/index.js';
import { hostFixture } from '../test/fixtures/hosts/index.js';
import { benchCluster } from './_support.js';
import { freePort } from '../src/cluster/processes.js';

const HWE_MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const NS = 'hwe-bench';
const F = 'feature.node.kubernetes.io';
const NFD = '/apis/nfd.k8s-sigs.io/v1alpha1';

function flag(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

type Json = Record<string, unknown>;
interface NF extends Json {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: {
    features: {
      flags: Record<string, { elements: Record<string, object> }>;
      attributes: Record<string, { elements: Record<string, string> }>;
      instances: Record<string, { elements: { attributes: Record<string, string> }[] }>;
    };
    labels?: Record<string, string>;
  };
}

/** What nfd-worker publishes for each fixture host. */
async function workerOutput(host: 'intel-rhcos' | 'amd-debian'): Promise<NF> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [
        HWE_MAIN,
        'nfd',
        'worker',
        '--oneshot',
        '--no-publish',
        '--host-root',
        hostFixture(host),
        '-o',
        'json',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, NODE_NAME: 'bench' } },
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as NF) : reject(new Error(`worker exited ${code}`)),
    );
  });
}

/** Four machine profiles: the two fixture hosts and a variant of each. */
export async function profiles(): Promise<NF[]> {
  const intel = await workerOutput('intel-rhcos');
  const amd = await workerOutput('amd-debian');
  const intelNoVeth = structuredClone(intel);
  delete intelNoVeth.spec.features.flags['kernel.loadedmodule']!.elements['veth'];
  const amdIntelNic = structuredClone(amd);
  amdIntelNic.spec.features.instances['pci.device']!.elements.push({
    attributes: {
      class: '0200',
      vendor: '8086',
      device: '1593',
      subsystem_vendor: '8086',
      subsystem_device: '0000',
    },
  });
  return [intel, amd, intelNoVeth, amdIntelNic];
}

export function nodeFeatureFor(p: NF, node: string): NF {
  return {
    apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
    kind: 'NodeFeature',
    metadata: { name: node, namespace: NS, labels: { 'nfd.node.kubernetes.io/node-name': node } },
    spec: {
      ...p.spec,
      features: {
        ...p.spec.features,
        attributes: {
          ...p.spec.features.attributes,
          'system.name': { elements: { nodename: node } },
        },
      },
    },
  };
}

/** `n` rules in objects of five, of the kinds clusters use: modules, PCI, CPU, kernel, OS. */
export function ruleSet(n: number, ps: NF[]): NodeFeatureRule[] {
  const modules = [
    ...new Set(
      ps.flatMap((p) => Object.keys(p.spec.features.flags['kernel.loadedmodule']!.elements)),
    ),
  ];
  const vendors = [
    ...new Set(
      ps.flatMap((p) =>
        p.spec.features.instances['pci.device']!.elements.map((e) => e.attributes.vendor!),
      ),
    ),
  ];
  const cpuid = [
    ...new Set(ps.flatMap((p) => Object.keys(p.spec.features.flags['cpu.cpuid']!.elements))),
  ];
  const rules: Rule[] = [];
  for (let i = 0; rules.length < n; i++) {
    const k = i % 8;
    if (k === 0) {
      rules.push({
        name: `seed-${i}`,
        labels: { [`seed-${i}`]: 'true' },
        matchFeatures: [
          { feature: 'kernel.loadedmodule', matchExpressions: { veth: { op: 'Exists' } } },
          { feature: 'pci.device', matchExpressions: { vendor: { op: 'In', value: ['8086'] } } },
        ],
      });
    } else if (k === 1) {
      const m = modules[i % modules.length]!;
      rules.push({
        name: `mod-${i}`,
        labels: { [`mod-${m}`]: 'true' },
        matchFeatures: [
          { feature: 'kernel.loadedmodule', matchExpressions: { [m]: { op: 'Exists' } } },
        ],
      });
    } else if (k === 2) {
      const v = vendors[i % vendors.length]!;
      rules.push({
        name: `nic-${i}`,
        labels: { [`nic-${v}`]: 'true' },
        matchFeatures: [
          {
            feature: 'pci.device',
            matchExpressions: {
              class: { op: 'In', value: ['0200'] },
              vendor: { op: 'In', value: [v] },
            },
          },
        ],
      });
    } else if (k === 3) {
      const c = cpuid[(i * 7) % cpuid.length]!;
      rules.push({
        name: `cpu-${i}`,
        labels: { [`cpu-${c.toLowerCase()}`]: 'true' },
        matchFeatures: [{ feature: 'cpu.cpuid', matchExpressions: { [c]: { op: 'Exists' } } }],
      });
    } else if (k === 4) {
      rules.push({
        name: `kernel-${i}`,
        labels: { [`kernel-ge-5-${i}`]: 'true' },
        matchFeatures: [
          {
            feature: 'kernel.version',
            matchExpressions: { full: { op: 'Ge', value: ['5.14'], type: 'version' } },
          },
        ],
      });
    } else if (k === 5) {
      rules.push({
        name: `os-${i}`,
        labels: { [`os-${i}`]: '@system.osrelease.ID' },
        matchAny: [
          {
            matchFeatures: [
              {
                feature: 'system.osrelease',
                matchExpressions: { ID: { op: 'In', value: ['rhcos', 'rhel'] } },
              },
            ],
          },
          {
            matchFeatures: [
              {
                feature: 'system.osrelease',
                matchExpressions: { ID: { op: 'InRegexp', value: ['^deb'] } },
              },
            ],
          },
        ],
      });
    } else if (k === 6) {
      rules.push({
        name: `vendor-${i}`,
        labels: { [`vendor-${i}`]: '@cpu.model.vendor_id' },
        matchFeatures: [
          {
            feature: 'cpu.model',
            matchExpressions: {
              vendor_id: { op: 'InRegexp', value: ['^(Intel|AMD)'] },
              family: { op: 'Gt', value: ['5'] },
            },
          },
        ],
      });
    } else if (i === 7) {
      // One template rule, as clusters have a few: a label per PCI vendor of a class.
      rules.push({
        name: `tmpl-${i}`,
        labelsTemplate: `{{ range .pci.device }}pci-${i}-{{ .vendor }}=true\n{{ end }}`,
        matchFeatures: [
          {
            feature: 'pci.device',
            matchExpressions: { class: { op: 'InRegexp', value: ['^0[23]'] } },
          },
        ],
      });
    } else {
      const m = modules[(i * 3) % modules.length]!;
      rules.push({
        name: `notmod-${i}`,
        labels: { [`no-${m}`]: 'true' },
        matchFeatures: [
          { feature: 'kernel.loadedmodule', matchExpressions: { [m]: { op: 'DoesNotExist' } } },
          {
            feature: 'kernel.config',
            matchExpressions: { NO_HZ: { op: 'In', value: ['y', 'true'] } },
          },
        ],
      });
    }
  }
  const objs: NodeFeatureRule[] = [];
  for (let o = 0; o * 5 < rules.length; o++) {
    objs.push({
      apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
      kind: 'NodeFeatureRule',
      metadata: { name: `bench-${String(o).padStart(2, '0')}` },
      spec: { rules: rules.slice(o * 5, o * 5 + 5) },
    } as NodeFeatureRule);
  }
  return objs;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Evaluations per second: rules alone, and the master's whole per-node computation. */
export function throughput(nfs: NF[], rules: NodeFeatureRule[], runs: number) {
  const objs: NodeFeatureObject[] = nfs.map((nf) => readNodeFeature(nf, ''));
  const compiled = compileRules(rules);
  const nRules = rules.reduce((a, r) => a + r.spec.rules.length, 0);
  const rulesOnly: number[] = [];
  const whole: number[] = [];
  // CPU time, not wall time: other processes share the machine.
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  for (let r = 0; r < runs; r++) {
    let t = cpu();
    for (const o of objs) processRules(compiled, o.features);
    rulesOnly.push((objs.length * nRules) / (cpu() - t));
    t = cpu();
    for (const o of objs) {
      const p = processRules(compiled, o.features);
      applyLabelPolicy(
        {
          labels: { ...addDefaultNamespace(o.labels), ...p.labels },
          annotations: p.annotations,
          extendedResources: p.extendedResources,
          taints: p.taints,
        },
        p.features,
        DEFAULT_POLICY,
      );
    }
    whole.push((objs.length * nRules) / (cpu() - t));
  }
  return { rulesOnly: median(rulesOnly), whole: median(whole), nRules };
}

interface NodeView extends KubeObject {
  spec?: { taints?: unknown[] };
  status?: { capacity?: Record<string, string> };
}

/** Follows every Node by watch: its labels, and how many real writes (not heartbeats) it got. */
class NodeTracker {
  readonly labels = new Map<string, Record<string, string>>();
  private readonly prints = new Map<string, string[]>();
  writes = 0;
  private readonly ac = new AbortController();
  private done: Promise<void> | undefined;

  constructor(private readonly api: ResourceClient<NodeView>) {}

  /** Writes seen, by the part of the Node they changed. */
  readonly byPart: Record<string, number> = {};

  private print(n: NodeView): string[] {
    return [
      JSON.stringify(n.metadata.labels ?? {}),
      JSON.stringify(n.metadata.annotations ?? {}),
      JSON.stringify(n.spec?.taints ?? []),
      JSON.stringify(n.status?.capacity ?? {}),
    ];
  }

  async start(): Promise<void> {
    const list = await this.api.listAll({ pageSize: 500 });
    for (const n of list.items) this.see(n, false);
    this.done = (async () => {
      let rv = list.resourceVersion;
      while (!this.ac.signal.aborted) {
        try {
          for await (const ev of this.api.watch({
            resourceVersion: rv,
            allowWatchBookmarks: true,
            timeoutSeconds: 600,
            signal: this.ac.signal,
          })) {
            if (ev.object?.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
            if (ev.type === 'ADDED' || ev.type === 'MODIFIED')
              this.see(ev.object, ev.type === 'MODIFIED');
          }
        } catch (e) {
          if (this.ac.signal.aborted) return;
          log(`node watch: ${String(e)}; re-watching`);
        }
      }
    })();
  }

  private see(n: NodeView, modified: boolean): void {
    const name = n.metadata.name!;
    const p = this.print(n);
    const old = this.prints.get(name);
    if (modified && old) {
      const parts = ['labels', 'annotations', 'taints', 'capacity'].filter(
        (_, i) => old[i] !== p[i],
      );
      if (parts.length) this.writes++;
      // Who wrote it: the manager of the newest managedFields entry.
      const mf = (n.metadata.managedFields ?? []) as { manager?: string; time?: string }[];
      const writer = mf.reduce<{ manager?: string; time?: string } | undefined>(
        (a, b) => (!a || (b.time ?? '') > (a.time ?? '') ? b : a),
        undefined,
      )?.manager;
      for (const part of parts) {
        const k = `${part}/${writer ?? '?'}`;
        this.byPart[k] = (this.byPart[k] ?? 0) + 1;
      }
    }
    this.prints.set(name, p);
    this.labels.set(name, n.metadata.labels ?? {});
  }

  async stop(): Promise<void> {
    this.ac.abort();
    await this.done;
  }

  /** Resolves when `ok` holds for all `names`; returns the time it took. */
  async until(
    names: string[],
    ok: (labels: Record<string, string>, name: string) => boolean,
    timeoutMs: number,
  ): Promise<number> {
    const t = performance.now();
    for (;;) {
      const missing = names.filter((n) => !ok(this.labels.get(n) ?? {}, n)).length;
      if (missing === 0) return performance.now() - t;
      if (performance.now() - t > timeoutMs)
        throw new Error(`${missing} nodes still not labelled after ${secs(timeoutMs)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Samples a process's RSS from /proc every 500 ms. */
class RssSampler {
  peak = 0;
  last = 0;
  /** Peak per phase, in the order phases were marked. */
  readonly phases: [string, number][] = [];
  private phasePeak = 0;
  /** Ends the current phase, recording its peak under `name`. */
  mark(name: string): void {
    this.phases.push([name, this.phasePeak]);
    this.phasePeak = 0;
  }
  private timer: ReturnType<typeof setInterval>;
  constructor(pid: number) {
    this.timer = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) {
          this.last = Number(m[1]) * 1024;
          this.peak = Math.max(this.peak, this.last);
          this.phasePeak = Math.max(this.phasePeak, this.last);
        }
      } catch {
        // The process has exited.
      }
    }, 500);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** CPU seconds (user + system) a process has used so far; 0 once it has gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * How often the process's main thread has been woken: its voluntary context switches (each
 * wait that ended: a timer, a socket, a signal), from /proc.
 */
function wakeUps(pid: number): number {
  try {
    const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Where CPU time goes while `fn` runs, per process of the control plane, the master and this one. */
async function cpuDuring<T>(
  pids: Record<string, number | undefined>,
  fn: () => Promise<T>,
): Promise<{ result: T; cpu: string }> {
  const named = Object.entries(pids).filter((e): e is [string, number] => e[1] !== undefined);
  const before = named.map(([, pid]) => cpuSeconds(pid));
  const result = await fn();
  const cpu = named
    .map(([name, pid], i) => `${name} ${(cpuSeconds(pid) - before[i]!).toFixed(1)}`)
    .join(', ');
  return { result, cpu };
}

/** The series of one metric of the master's /metrics, as `labels value` lines. */
async function masterSeries(port: number, name: string): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => l.slice(name.length));
}

/** The master's own count of Node writes (nfd_node_updates_total), from its /metrics. */
async function masterWrites(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^nfd_node_updates_total (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

async function putRule(client: KubeClient, rule: NodeFeatureRule): Promise<void> {
  const path = `${NFD}/nodefeaturerules/${rule.metadata.name}`;
  const cur = await client.request<KubeObject>(path);
  await client.request(path, {
    method: 'PUT',
    body: {
      ...rule,
      metadata: { ...rule.metadata, resourceVersion: cur.metadata.resourceVersion },
    },
  });
}

export default async function (args: string[]): Promise<void> {
  const nNodes = flag(args, 'nodes', 5000);
  const nRules = flag(args, 'rules', 50);
  const idleS = flag(args, 'idle', 300);
  const parallelism = flag(args, 'parallelism', 32);
  const runs = flag(args, 'runs', 5);
  const leaseS = flag(args, 'lease-seconds', 600);

  log('reading NodeFeatures of the fixture hosts');
  const ps = await profiles();
  const specs = simNodeSpecs(nNodes, 'nfdm');
  const names = specs.map((s) => s.name);
  const nfs = names.map((n, i) => nodeFeatureFor(ps[i % ps.length]!, n));
  const rules = ruleSet(nRules, ps);

  const tp = throughput(nfs, rules, runs);
  process.stdout.write(
    `nfd-master benchmark: ${nNodes} nodes, ${tp.nRules} rules in ${rules.length} NodeFeatureRules, ${ps.length} machine profiles\n`,
  );
  process.stdout.write(
    `machine: ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)}\n`,
  );
  process.stdout.write(
    `node Leases renewed every ${leaseS / 4} s (a kubelet: 10 s, --lease-seconds 40): ${Math.round((nNodes * 4) / leaseS)} renewals/s\n`,
  );
  process.stdout.write(
    `rule evaluation (per CPU second, median of ${runs}): ${Math.round(tp.rulesOnly).toLocaleString('en')} node×rule/s (target ≥ 500,000); with merge and label policy: ${Math.round(tp.whole).toLocaleString('en')} node×rule/s\n`,
  );

  // The labels each profile should get, from the same policy `hwe nfd eval` uses.
  const expected = ps.map(
    (p) =>
      evaluateNode([readNodeFeature(nodeFeatureFor(p, 'x'), '')], rules, DEFAULT_POLICY, NS).output
        .labels,
  );
  const expectedFor = (i: number) => expected[i % ps.length]!;

  log('starting a local control plane');
  const cluster = await benchCluster(NS, { nodeLeaseDurationSeconds: leaseS });
  let child: ChildProcess | undefined;
  try {
    const client = cluster.client;
    let t = performance.now();
    await createSimNodes(client, specs, 48);
    log(`created ${nNodes} nodes in ${secs(performance.now() - t)}`);
    t = performance.now();
    await mapLimit(nfs, 48, (nf) =>
      client.request(`${NFD}/namespaces/${NS}/nodefeatures`, { method: 'POST', body: nf }),
    );
    log(`created ${nNodes} NodeFeatures in ${secs(performance.now() - t)}`);
    for (const r of rules)
      await client.request(`${NFD}/nodefeaturerules`, { method: 'POST', body: r });

    const nodeApi = new ResourceClient<NodeView>(client, Nodes);
    // The apiserver adds a not-ready taint to every new Node, and the controller-manager removes
    // it once kwok has made the node Ready: let that settle, so it is not counted as the master's.
    t = performance.now();
    for (;;) {
      const list = await nodeApi.listAll({ pageSize: 1000 });
      if (list.items.every((n) => !(n.spec?.taints ?? []).length)) break;
      if (performance.now() - t > 600_000) throw new Error('nodes still tainted after 10 min');
      await new Promise((r) => setTimeout(r, 2000));
    }
    log(`nodes Ready and untainted after ${secs(performance.now() - t)} more`);

    const tracker = new NodeTracker(nodeApi);
    await tracker.start();

    log('starting nfd-master');
    const port = await freePort();
    const started = performance.now();
    child = spawn(
      process.execPath,
      [
        HWE_MAIN,
        'nfd',
        'master',
        '--kubeconfig',
        cluster.kubeconfig,
        '-namespace',
        NS,
        '-port',
        String(port),
        '-nfd-api-parallelism',
        String(parallelism),
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, HWE_LOG_LEVEL: process.env.HWE_LOG_LEVEL ?? 'warn' },
      },
    );
    let stderr = '';
    const logPath = join(tmpdir(), `nfd-master-bench-${process.pid}.log`);
    const logFile = createWriteStream(logPath);
    log(`nfd-master log: ${logPath}`);
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
      logFile.write(d);
    });
    child.on('exit', (code) => {
      if (code) log(`nfd-master exited ${code}: ${stderr}`);
    });
    const rss = new RssSampler(child.pid!);
    const want = new Map(names.map((n, i) => [n, expectedFor(i)]));
    await tracker.until(
      names,
      (l, n) => Object.entries(want.get(n)!).every(([k, v]) => l[k] === v),
      600_000,
    );
    const initial = performance.now() - started;
    rss.mark('start');
    const initialWrites = await masterWrites(port);
    process.stdout.write(
      `start: every node labelled ${secs(initial)} after the master was started (${initialWrites} Node writes by the master, ${tracker.writes} by anyone; ${Object.keys(expected[0]!).length}–${Math.max(...expected.map((e) => Object.keys(e).length))} labels per node)\n`,
    );

    // One NodeFeatureRule changes: a rule every node matches gets a new label.
    const changed = structuredClone(rules[0]!);
    changed.spec.rules.push({
      name: 'generation',
      labels: { 'bench-generation': '2' },
      matchFeatures: [{ feature: 'kernel.version', matchExpressions: { major: { op: 'Exists' } } }],
    });
    const writesBefore = await masterWrites(port);
    const allBefore = tracker.writes;
    t = performance.now();
    const pids = {
      ...cluster.state.pids,
      watchdog: undefined,
      'nfd-master': child.pid,
      bench: process.pid,
    };
    const { result: ruleChange, cpu } = await cpuDuring(pids, async () => {
      await putRule(client, changed);
      return tracker.until(names, (l) => l[`${F}/bench-generation`] === '2', 600_000);
    });
    process.stdout.write(
      `rule change: all ${nNodes} nodes carry the new label after ${secs(ruleChange)} (target ≤ 20 s; ${(await masterWrites(port)) - writesBefore} Node writes by the master, ${tracker.writes - allBefore} by anyone)\n`,
    );
    process.stdout.write(`  CPU seconds meanwhile: ${cpu}\n`);
    rss.mark('rule change');

    const idleStart = await masterWrites(port);
    const idleAll = tracker.writes;
    log(`idle for ${idleS} s`);
    // The master's CPU minute by minute: the first minute still holds the collections that
    // follow the rule change; the later ones show what wakes an idle master.
    const relistsBefore = await masterSeries(port, 'hwe_informer_relists_total');
    const eventsBefore = await masterSeries(port, 'hwe_informer_watch_events_total');
    const reconcilesBefore = await masterSeries(port, 'controller_runtime_reconcile_total');
    const perMinute: number[] = [];
    let mark = cpuSeconds(child.pid!);
    const wakeStart = wakeUps(child.pid!);
    const sampler = setInterval(() => {
      const now = cpuSeconds(child!.pid!);
      perMinute.push(now - mark);
      mark = now;
    }, 60_000);
    const idle = await cpuDuring(pids, () => new Promise((r) => setTimeout(r, idleS * 1000)));
    clearInterval(sampler);
    perMinute.push(cpuSeconds(child.pid!) - mark);
    process.stdout.write(
      `idle: ${(await masterWrites(port)) - idleStart} Node writes by the master in ${idleS} s (target 0); ${tracker.writes - idleAll} by anyone (kwok, controller-manager)\n`,
    );
    const later = perMinute.slice(1).sort((a, b) => a - b);
    const restFigures = later.length
      ? `after the first minute median ${later[Math.floor(later.length / 2)]!.toFixed(3)}, worst ${later[later.length - 1]!.toFixed(3)}, mean ${(later.reduce((a, b) => a + b, 0) / later.length).toFixed(3)}`
      : 'n/a after the first minute (use --idle 180 or more)';
    process.stdout.write(
      `  nfd-master CPU at rest, CPU-s per idle minute: ${perMinute.map((x) => x.toFixed(2)).join(', ')}; ${restFigures} (target ≤ 0.05; upstream 0.01-0.02 at 1,000 nodes; /proc counts 10 ms ticks)\n`,
    );
    process.stdout.write(
      `  nfd-master main thread woken ${((wakeUps(child.pid!) - wakeStart) / (idleS / 60)).toFixed(0)} times per idle minute (voluntary context switches)\n`,
    );
    process.stdout.write(`  CPU seconds meanwhile: ${idle.cpu}\n`);
    process.stdout.write(
      `  informer relists (before → after the idle period): ${relistsBefore.join(', ')} → ${(await masterSeries(port, 'hwe_informer_relists_total')).join(', ')}; watch restarts after: ${(await masterSeries(port, 'hwe_informer_watch_restarts_total')).join(', ')}\n`,
    );
    process.stdout.write(
      `  watch events received (before → after the idle period): ${eventsBefore.join(', ')} → ${(await masterSeries(port, 'hwe_informer_watch_events_total')).join(', ')}\n`,
    );
    process.stdout.write(
      `  reconciles (before → after the idle period): ${reconcilesBefore.join(', ')} → ${(await masterSeries(port, 'controller_runtime_reconcile_total')).join(', ')}\n`,
    );
    rss.mark('idle');
    process.stdout.write(
      `Node writes by anyone, by part changed and newest field manager (ties within a second blur it): ${JSON.stringify(tracker.byPart)}\n`,
    );
    process.stdout.write(
      `master RSS: ${(rss.last / 2 ** 20).toFixed(0)} MB now, ${(rss.peak / 2 ** 20).toFixed(0)} MB peak (target ≤ 300 MB); peak by phase: ${rss.phases.map(([p, b]) => `${p} ${(b / 2 ** 20).toFixed(0)} MB`).join(', ')}\n`,
    );
    rss.stop();

    // The floor under the rule-change figure: the same number of one-label Node patches, sent
    // by a bare client as many at a time as the master sends, with the master stopped.
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    const floor = await cpuDuring({ ...pids, 'nfd-master': undefined }, async () => {
      const t0 = performance.now();
      await mapLimit(names, parallelism, (n) =>
        nodeApi.patch(n, { metadata: { labels: { [`${F}/bench-generation`]: '3' } } }),
      );
      return performance.now() - t0;
    });
    process.stdout.write(
      `apiserver floor: ${nNodes} one-label Node patches from a bare client, ${parallelism} at a time, take ${secs(floor.result)}; the master's rule change took ${(ruleChange / floor.result).toFixed(2)}× that\n`,
    );
    process.stdout.write(`  CPU seconds meanwhile: ${floor.cpu}\n`);
    await tracker.stop();
  } finally {
    child?.kill('SIGTERM');
    await cluster.stop();
  }
}
