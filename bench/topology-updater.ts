/**
 * npm run bench -- topology-updater [--runs N] [--pods N]
 *
 * One `nfd-topology-updater -oneshot` pass over the four-NUMA-node fixture
 * (test/fixtures/hosts/numa-four: 64 CPUs, 2 reserved) with N pods (default 500) on the node:
 * wall time, peak RSS and CPU time of the whole process, as a DaemonSet pod starts it. The pods
 * are real Pod objects on a simulated node of a local control plane; the kubelet is the tests'
 * pod-resources stand-in (a gRPC server on a unix socket, the kubelet's proto). A tenth of the
 * pods are Guaranteed with one exclusive CPU (at most the 62 allocatable), a fifth hold a device,
 * the rest share CPUs; each pass lists them all, looks them up, aggregates and writes the object
 * by server-side apply. Also prints an in-process pass, what every sleep interval costs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSimNodes } from '../src/cluster/nodes.js';
import { mapLimit } from '../src/runtime/index.js';
import { silentLogger } from '../src/runtime/log.js';
import type { KubeletState } from '../test/integration/nfd-topology/kubelet.js';
import { PodResourcesStandIn } from '../test/integration/nfd-topology/kubelet.js';
import { repoRoot } from '../test/fixtures/hosts/index.js';
import { RSS_PROBE, benchCluster, runNode, stats } from './_support.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const NS = 'topology-bench';
const NODE = 'topology-bench-0';

const GiB = 2 ** 30;
const numa = (id: number) => ({ nodes: [{ ID: id }] });

/** What a kubelet with the static CPU and memory managers reports for these pods. */
function kubeletState(nPods: number): KubeletState {
  const cpus = Array.from({ length: 64 }, (_, i) => i).filter((c) => c !== 0 && c !== 32);
  const devices = Array.from({ length: 4 }, (_, n) => ({
    resource_name: 'example.com/nic',
    device_ids: Array.from({ length: 32 }, (_, i) => `nic-${n}-${i}`),
    topology: numa(n),
  }));
  const pods: KubeletState['list']['pod_resources'] = [];
  let nextCpu = 0;
  for (let i = 0; i < nPods; i++) {
    const pinned = i % 10 === 0 && nextCpu < cpus.length;
    const withNic = i % 5 === 1;
    const node = i % 4;
    pods.push({
      name: `pod-${i}`,
      namespace: NS,
      containers: [
        {
          name: 'c',
          cpu_ids: pinned ? [cpus[nextCpu++]!] : cpus.slice(40),
          devices: withNic
            ? [
                {
                  resource_name: 'example.com/nic',
                  device_ids: [`nic-${node}-${i % 32}`],
                  topology: numa(node),
                },
              ]
            : [],
          memory: pinned ? [{ memory_type: 'memory', size: GiB / 4, topology: numa(node) }] : [],
        },
      ],
    });
  }
  return {
    allocatable: {
      cpu_ids: cpus,
      devices,
      memory: [0, 1, 2, 3].map((n) => ({
        memory_type: 'memory',
        size: 64 * GiB - (n === 0 ? 2 * GiB : 0),
        topology: numa(n),
      })),
    },
    list: { pod_resources: pods },
  };
}

export default async function (args: string[]): Promise<void> {
  let runs = 5;
  let nPods = 500;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--runs') runs = Number(args[++i]);
    else if (args[i] === '--pods') nPods = Number(args[++i]);
  }
  const root = join(repoRoot(), 'test/fixtures/hosts/numa-four');
  const dir = mkdtempSync(join(tmpdir(), 'hwe-bench-topology-'));
  const log = (m: string) => process.stderr.write(`${m}\n`);
  log('starting a local control plane');
  const cluster = await benchCluster(NS);
  let kubelet: PodResourcesStandIn | undefined;
  try {
    const client = cluster.client;
    await createSimNodes(client, [{ name: NODE, cpu: '64', memory: '256Gi', pods: '1000' }]);
    const state = kubeletState(nPods);
    log(`creating ${nPods} pods on ${NODE}`);
    await mapLimit(state.list.pod_resources, 8, (p) => {
      const pinned = p.containers[0]!.memory.length > 0;
      const resources = pinned
        ? { limits: { cpu: '1', memory: '256Mi' } }
        : { requests: { cpu: '100m', memory: '64Mi' } };
      return client.request(`/api/v1/namespaces/${NS}/pods`, {
        method: 'POST',
        body: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: p.name, namespace: NS },
          spec: {
            nodeName: NODE,
            containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9', resources }],
          },
        },
      });
    });
    kubelet = await PodResourcesStandIn.start(join(dir, 'kubelet.sock'), state);

    const updaterArgs = [
      MAIN,
      'nfd',
      'topology-updater',
      '-oneshot',
      `-podresources-socket=${kubelet.socket}`,
      `-kubelet-config-file=${root}/var/lib/kubelet/config.yaml`,
      `-host-root=${root}`,
      `-node-name=${NODE}`,
      `-kubeconfig=${cluster.kubeconfig}`,
      `-config=${join(dir, 'none.conf')}`,
    ];
    const file = join(dir, 'usage');
    const env = { HWE_BENCH_RSS_FILE: file };
    const warm = await runNode(updaterArgs, env, ['ignore', 'ignore', 'inherit']);
    if (warm.code !== 0) throw new Error(`nfd-topology-updater exited ${warm.code}`);
    const wall: number[] = [];
    const rss: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await runNode(['--import', RSS_PROBE, ...updaterArgs], env, [
        'ignore',
        'ignore',
        'inherit',
      ]);
      if (r.code !== 0) throw new Error(`nfd-topology-updater exited ${r.code}`);
      wall.push(r.ms);
      const [kb, us] = readFileSync(file, 'utf8').split(' ').map(Number) as [number, number];
      rss.push(kb / 1024);
      cpu.push(us / 1000);
    }

    // Passes inside a running updater: what each sleep interval costs after start-up.
    const { runTopologyUpdater, podResourcesClient, listNodePods, applyNodeResourceTopology } =
      await import('../src/nfd/topology/index.js');
    const pass: number[] = [];
    let t0 = performance.now();
    let zones = 0;
    const abort = new AbortController();
    await runTopologyUpdater({
      nodeName: NODE,
      sys: join(root, 'sys'),
      kubeletConfigFile: `${root}/var/lib/kubelet/config.yaml`,
      configFile: join(dir, 'none.conf'),
      watchNamespace: '*',
      sleepIntervalMs: 1,
      oneshot: false,
      connect: () => podResourcesClient(kubelet!.socket),
      pods: (ns) => listNodePods(client, NODE, ns),
      publish: (nrt) => applyNodeResourceTopology(client, nrt),
      onPass: (nrt) => {
        pass.push(performance.now() - t0);
        zones = nrt.zones.length;
        if (pass.length === 11) abort.abort();
        t0 = performance.now();
      },
      log: silentLogger,
      signal: abort.signal,
    });

    const [l1] = loadavg();
    process.stdout.write(
      [
        `nfd-topology-updater -oneshot, ${zones} NUMA zones, ${nPods} pods (${runs} runs, load average ${l1!.toFixed(2)})`,
        `  wall ms (whole process):  ${stats(wall)}`,
        `  peak RSS MB:              ${stats(rss)}`,
        `  CPU ms (user+system):     ${stats(cpu)}`,
        `  in-process pass ms:       ${stats(pass.slice(1))}   (first pass ${pass[0]!.toFixed(0)}; list, pod lookup, apply)`,
        '',
      ].join('\n'),
    );
  } finally {
    await kubelet?.stop();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
