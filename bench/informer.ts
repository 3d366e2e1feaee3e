/**
 * npm run bench -- informer [--nodes N] [--pods N]
 *
 * Starts a local control plane, creates N Nodes (default 5,000, with NFD-like labels) and N Pods
 * bound to them (default 5,000), then, in a fresh process per variant, caches them with shared
 * informers (pods indexed by spec.nodeName) and prints the time to sync and the RSS:
 *   full      Nodes and Pods as the apiserver sends them, minus managedFields
 *   transform the same with a transform that drops what controllers do not read
 *   metadata  Nodes as metadata only (PartialObjectMetadata), full Pods
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { LocalCluster } from '../src/cluster/local.js';
import { KWOK_NODE_ANNOTATION } from '../src/cluster/local.js';
import { simNodeObject } from '../src/cluster/nodes.js';
import {
  mapLimit,
  InformerFactory,
  KubeClient,
  loadKubeconfig,
  Nodes,
  Pods,
  indexers,
  type KubeObject,
} from '../src/runtime/index.js';

type Variant = 'full' | 'transform' | 'metadata';
const VARIANTS: Variant[] = ['full', 'transform', 'metadata'];

function flag(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 0)
    throw new Error(`--${name}: expected a whole number, got "${args[i + 1]}"`);
  return v;
}

function nodeObject(i: number): KubeObject {
  const name = `bench-node-${String(i).padStart(5, '0')}`;
  const labels: Record<string, string> = { 'hwe.bench/node': 'true' };
  // The kind of labels nfd-master puts on a node.
  const nfd = 'feature.node.kubernetes.io';
  for (const f of [
    'avx',
    'avx2',
    'avx512f',
    'sse4_2',
    'aes',
    'fma3',
    'vmx',
    'hypervisor',
    'x86-64-v3',
  ]) {
    labels[`${nfd}/cpu-cpuid.${f.toUpperCase()}`] = 'true';
  }
  Object.assign(labels, {
    [`${nfd}/cpu-model.vendor_id`]: 'Intel',
    [`${nfd}/cpu-model.family`]: '6',
    [`${nfd}/cpu-model.id`]: '143',
    [`${nfd}/kernel-version.full`]: '5.14.0-284.30.1.el9_2.x86_64',
    [`${nfd}/kernel-version.major`]: '5',
    [`${nfd}/kernel-version.minor`]: '14',
    [`${nfd}/pci-10de.present`]: i % 4 === 0 ? 'true' : 'false',
    [`${nfd}/pci-8086.present`]: 'true',
    [`${nfd}/system-os_release.ID`]: 'rhcos',
    [`${nfd}/system-os_release.VERSION_ID`]: '4.12',
    [`${nfd}/memory-numa`]: 'true',
    [`${nfd}/network-sriov.capable`]: 'true',
    'topology.kubernetes.io/zone': `zone-${i % 3}`,
  });
  const o = simNodeObject({ name, labels, kernelVersion: '5.14.0-284.30.1.el9_2.x86_64' });
  // Not for kwok: 5,000 simulated kubelets would load the machine, not the informer.
  delete o.metadata.annotations![KWOK_NODE_ANNOTATION];
  o.metadata.annotations!['nfd.node.kubernetes.io/feature-labels'] = Object.keys(labels)
    .filter((k) => k.startsWith(nfd))
    .map((k) => k.slice(nfd.length + 1))
    .join(',');
  return o;
}

function podObject(i: number, nodes: number): KubeObject & { spec: unknown } {
  const node = `bench-node-${String(i % Math.max(1, nodes)).padStart(5, '0')}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `bench-pod-${String(i).padStart(5, '0')}`,
      namespace: 'hwe-bench',
      labels: { app: 'bench', 'app.kubernetes.io/part-of': 'hwe', shard: String(i % 16) },
      annotations: { 'hwe.bench/created-by': 'bench/informer.ts' },
    },
    spec: {
      nodeName: node,
      restartPolicy: 'Always',
      containers: [
        {
          name: 'worker',
          image: 'registry.example.com/hwe/worker@sha256:' + '0'.repeat(64),
          args: ['--node', node, '--verbose'],
          env: [
            { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'LOG_LEVEL', value: 'info' },
          ],
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } },
          volumeMounts: [{ name: 'host', mountPath: '/host', readOnly: true }],
        },
      ],
      volumes: [{ name: 'host', hostPath: { path: '/', type: 'Directory' } }],
      tolerations: [{ operator: 'Exists' }],
    },
  };
}

/** Drops what no controller of ours reads: pod volumes, env and status details; node images. */
function slim(o: KubeObject): KubeObject {
  const x = o as KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };
  delete x.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'];
  if (x.kind === 'Pod') {
    const spec = x.spec as {
      volumes?: unknown;
      containers?: { env?: unknown; volumeMounts?: unknown }[];
    };
    delete spec.volumes;
    for (const c of spec.containers ?? []) {
      delete c.env;
      delete c.volumeMounts;
    }
  } else if (x.status) {
    delete x.status.images;
  }
  return o;
}

async function measure(kubeconfig: string, variant: Variant): Promise<void> {
  const client = new KubeClient(loadKubeconfig([kubeconfig]));
  const factory = new InformerFactory(client);
  (globalThis as { gc?: () => void }).gc?.();
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const nodes = factory.informer(Nodes, {
    labelSelector: 'hwe.bench/node=true',
    metadataOnly: variant === 'metadata',
    transform: variant === 'transform' ? slim : undefined,
  });
  const pods = factory.informer(Pods, {
    namespace: 'hwe-bench',
    indexers: { nodeName: indexers.byNodeName },
    transform: variant === 'transform' ? slim : undefined,
  });
  factory.start();
  await factory.waitForSync();
  const syncMs = performance.now() - t0;
  // Settle: collect garbage from parsing so RSS shows what the cache holds.
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  const mem = process.memoryUsage();
  const onFirstNode = pods.byIndex('nodeName', 'bench-node-00000').length;
  process.stdout.write(
    JSON.stringify({
      variant,
      nodes: nodes.size,
      pods: pods.size,
      podsOnFirstNode: onFirstNode,
      syncMs: Math.round(syncMs),
      rssMB: +(mem.rss / 2 ** 20).toFixed(1),
      rssBeforeMB: +(rssBefore / 2 ** 20).toFixed(1),
      heapUsedMB: +(mem.heapUsed / 2 ** 20).toFixed(1),
    }) + '\n',
  );
  await factory.stop();
  client.close();
}

function runChild(kubeconfig: string, variant: Variant): Promise<Record<string, number | string>> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--expose-gc', process.argv[1]!, 'informer', '--measure', kubeconfig, variant],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim()) as Record<string, number>)
        : reject(new Error(`measurement exited ${code}`)),
    );
  });
}

export default async function (args: string[]): Promise<void> {
  const m = args.indexOf('--measure');
  if (m >= 0) return measure(args[m + 1]!, args[m + 2] as Variant);
  const nNodes = flag(args, 'nodes', 5000);
  const nPods = flag(args, 'pods', 5000);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log('starting a local control plane');
  const cluster = await LocalCluster.start({ ownedByProcess: true });
  try {
    const client = cluster.client;
    await client.request('/api/v1/namespaces', {
      method: 'POST',
      body: { metadata: { name: 'hwe-bench' } },
    });
    let t = performance.now();
    await mapLimit(
      Array.from({ length: nNodes }, (_, i) => i),
      48,
      (i) => client.request('/api/v1/nodes', { method: 'POST', body: nodeObject(i) }),
    );
    log(`created ${nNodes} nodes in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    await mapLimit(
      Array.from({ length: nPods }, (_, i) => i),
      48,
      (i) =>
        client.request('/api/v1/namespaces/hwe-bench/pods', {
          method: 'POST',
          body: podObject(i, nNodes),
        }),
    );
    log(`created ${nPods} pods in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const sample = await client.requestText('/api/v1/nodes', {
      query: { labelSelector: 'hwe.bench/node=true', limit: 1 },
    });
    const podSample = await client.requestText('/api/v1/namespaces/hwe-bench/pods', {
      query: { limit: 1 },
    });
    log(
      `one node is ~${Math.round(sample.length / 1024)} KiB of JSON, one pod ~${Math.round(podSample.length / 1024)} KiB (with managedFields)`,
    );
    process.stdout.write(
      `informer benchmark: ${nNodes} Nodes + ${nPods} Pods, one process per variant\n`,
    );
    process.stdout.write(
      `machine: ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} (sync times scale with it)\n`,
    );
    process.stdout.write(
      'variant    objects   sync      RSS (before)         heap used   pods on node 0\n',
    );
    for (const v of VARIANTS) {
      const r = await runChild(cluster.kubeconfig, v);
      process.stdout.write(
        `${String(r.variant).padEnd(10)} ${String(Number(r.nodes) + Number(r.pods)).padEnd(9)} ` +
          `${(Number(r.syncMs) / 1000).toFixed(2).padStart(5)} s   ${String(r.rssMB).padStart(6)} MB ` +
          `(${String(r.rssBeforeMB).padStart(5)} MB)  ` +
          `${String(r.heapUsedMB).padStart(6)} MB   ${r.podsOnFirstNode}\n`,
      );
    }
    process.stdout.write('target: ≤ 250 MB RSS for 5,000 Nodes + 5,000 Pods\n');
  } finally {
    await cluster.stop();
  }
}
