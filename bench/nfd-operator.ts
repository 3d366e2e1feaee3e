/**
 * npm run bench -- nfd-operator [--edits 100] [--idle-seconds 300] [--nodes 5]
 *
 * A local control plane, `hwe nfd operator` as its own process, one NodeFeatureDiscovery.
 * Then `--edits` successive CR edits (worker config, image, master flags, tolerations, service
 * port, …): for each, the objects whose rendering changed are computed with the operator's own
 * pure function, and the writes the operator made (its nfd_operator_writes_total counter) are
 * compared with that number once the CR reports the new generation. Then, once the operands
 * are Available and no longer Progressing, `--idle-seconds` with no change: the writes in that
 * time (expected 0). And the operator's RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { NodeFeatureDiscoveries, type NodeFeatureDiscovery } from '../src/api/index.js';
import { createSimNodes, simNodeSpecs } from '../src/cluster/nodes.js';
import { loadOperandRbac, renderOperands, type Operand } from '../src/nfd/operator/index.js';
import { ResourceClient } from '../src/runtime/index.js';
import { benchCluster } from './_support.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const NS = 'openshift-nfd';
const IMAGE = 'quay.io/hwe/hwe:bench';

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** The operator's write counters, from its /metrics. */
async function writes(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = { created: 0, updated: 0, deleted: 0, statusWrites: 0 };
  for (const m of text.matchAll(/^nfd_operator_writes_total\{operation="(\w+)"\} (\d+)/gm)) {
    out[m[1]!] = Number(m[2]);
  }
  return out;
}
const operandWrites = (w: Record<string, number>) => w.created! + w.updated! + w.deleted!;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Objects whose rendering differs between two specs (plus objects that appear or go). */
function changedObjects(a: NodeFeatureDiscovery, b: NodeFeatureDiscovery): number {
  const settings = { rbac: loadOperandRbac(), image: IMAGE };
  const key = (o: Operand) => `${o.kind}/${o.metadata.name}`;
  const ra = new Map(renderOperands(a, settings).objects.map((o) => [key(o), JSON.stringify(o)]));
  const rb = new Map(renderOperands(b, settings).objects.map((o) => [key(o), JSON.stringify(o)]));
  let n = 0;
  for (const [k, v] of rb) if (ra.get(k) !== v) n++;
  for (const k of ra.keys()) if (!rb.has(k)) n++;
  return n;
}

/** The i-th edit: each kind of change in turn, every one a new value. */
function edit(i: number): NodeFeatureDiscovery['spec'] {
  switch (i % 6) {
    case 0:
      return { workerConfig: { configData: `core:\n  sleepInterval: ${60 + i}s\n` } };
    case 1:
      return { operand: { image: `${IMAGE}-${i}` } };
    case 2:
      return { extraLabelNs: [`vendor${i}.example.com`] };
    case 3:
      return { operand: { workerTolerations: [{ key: `k${i}`, operator: 'Exists' }] } };
    case 4:
      return { operand: { servicePort: 9000 + i } };
    default:
      return { enableTaints: i % 4 === 1, labelWhiteList: `^l${i}` };
  }
}

function merge(spec: NodeFeatureDiscovery['spec'], e: NodeFeatureDiscovery['spec']) {
  return { ...spec, ...e, operand: { ...spec?.operand, ...e?.operand } };
}

export default async function (args: string[]): Promise<void> {
  let edits = 100;
  let idleS = 300;
  let nodes = 5;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--edits') edits = Number(args[++i]);
    else if (args[i] === '--idle-seconds') idleS = Number(args[++i]);
    else if (args[i] === '--nodes') nodes = Number(args[++i]);
  }
  log('starting a local control plane');
  const cluster = await benchCluster(NS);
  let child: ChildProcess | undefined;
  try {
    const client = cluster.client;
    await createSimNodes(client, simNodeSpecs(nodes, 'nfd-op-bench'));
    const crApi = new ResourceClient<NodeFeatureDiscovery>(client, NodeFeatureDiscoveries);

    const port = await freePort();
    child = spawn(
      process.execPath,
      [
        MAIN,
        'nfd',
        'operator',
        '--kubeconfig',
        cluster.kubeconfig,
        '--namespace',
        NS,
        '--health-probe-bind-address',
        '127.0.0.1:0',
        '--metrics-bind-address',
        `127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, HWE_LOG_LEVEL: 'warn' } },
    );
    const pid = child.pid!;
    for (let t = Date.now(); ;) {
      if (await writes(port).catch(() => undefined)) break;
      if (Date.now() - t > 120_000) throw new Error('the operator did not serve /metrics');
      await sleep(250);
    }
    const rssStart = rssMb(pid);

    let spec: NodeFeatureDiscovery['spec'] = { operand: { image: IMAGE } };
    await crApi.create({
      apiVersion: 'nfd.openshift.io/v1',
      kind: 'NodeFeatureDiscovery',
      metadata: { name: 'nfd-instance', namespace: NS },
      spec,
    });
    /** Waits until the operator has reported on generation `g` and its writes stop growing. */
    const settle = async (g: number, want: number): Promise<Record<string, number>> => {
      const t = Date.now();
      for (;;) {
        const cr = await crApi.get('nfd-instance', NS);
        const seen = cr.status?.conditions?.some((c) => c.observedGeneration === g);
        const w = await writes(port);
        if (seen && operandWrites(w) >= want) {
          await sleep(500); // late writes would show here
          return writes(port);
        }
        if (Date.now() - t > 120_000) throw new Error(`generation ${g} not reconciled in 2 min`);
        await sleep(100);
      }
    };
    const first = await settle(1, 17);
    log(`initial deployment: ${operandWrites(first)} operand writes`);

    let base = first;
    let mismatches = 0;
    let totalExpected = 0;
    let totalWrites = 0;
    const t0 = Date.now();
    for (let i = 0; i < edits; i++) {
      const before = await crApi.get('nfd-instance', NS);
      const next = merge(spec, edit(i));
      const expected = changedObjects({ ...before, spec }, { ...before, spec: next });
      const updated = await crApi.patch('nfd-instance', { spec: next }, { namespace: NS });
      spec = next;
      const after = await settle(updated.metadata.generation!, operandWrites(base) + expected);
      const got = operandWrites(after) - operandWrites(base);
      if (got !== expected) {
        mismatches++;
        log(`edit ${i}: ${got} writes, ${expected} objects changed`);
      }
      totalExpected += expected;
      totalWrites += got;
      base = after;
    }
    const editS = (Date.now() - t0) / 1000;
    const rssAfterEdits = rssMb(pid);

    // The last roll-out ends first: its status updates are not idle writes.
    for (const t = Date.now(); ;) {
      const cr = await crApi.get('nfd-instance', NS);
      const is = (type: string, status: string) =>
        cr.status?.conditions?.some(
          (c) =>
            c.type === type &&
            c.status === status &&
            c.observedGeneration === cr.metadata.generation,
        );
      if (is('Available', 'True') && is('Progressing', 'False')) break;
      if (Date.now() - t > 300_000) throw new Error('the operands did not settle in 5 min');
      await sleep(500);
    }
    log(`settled; idle for ${idleS} s`);
    const idle0 = await writes(port);
    await sleep(idleS * 1000);
    const idle1 = await writes(port);
    const rssEnd = rssMb(pid);

    const out = {
      edits,
      objectsChanged: totalExpected,
      operandWrites: totalWrites,
      writesPerEdit: +(totalWrites / edits).toFixed(2),
      changedPerEdit: +(totalExpected / edits).toFixed(2),
      editsWhereWritesDiffered: mismatches,
      statusWritesDuringEdits: base.statusWrites! - first.statusWrites!,
      editSeconds: +editS.toFixed(1),
      idleSeconds: idleS,
      idleOperandWrites: operandWrites(idle1) - operandWrites(idle0),
      idleStatusWrites: idle1.statusWrites! - idle0.statusWrites!,
      rssMb: {
        start: +rssStart.toFixed(1),
        afterEdits: +rssAfterEdits.toFixed(1),
        end: +rssEnd.toFixed(1),
      },
      loadavg: loadavg().map((l) => +l.toFixed(1)),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } finally {
    child?.kill('SIGTERM');
    await cluster.stop();
  }
}
