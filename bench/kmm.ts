/**
 * npm run bench -- kmm [--nodes N] [--idle SECONDS]
 *
 * The KMM operator at scale: N simulated nodes (default 1,000) on 3 kernels, one Module. Prints
 * the time from creating the Module until every node reports it loaded (Module status and the
 * nodes' ready labels), the operator's API writes per node (events counted apart), its writes
 * during an idle period (default 5 minutes) in which kwok keeps sending node heartbeats, and
 * the operator's memory. Worker pods are completed by a driver standing in for the kubelet, and
 * the bench marks the Module's three images as existing, standing in for the image controller.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalCluster } from '../src/cluster/local.js';
import { ensureK8sBox } from '../src/cluster/k8s-box.js';
import { createSimNodes, simNodeSpecs, waitForReadyNodes } from '../src/cluster/nodes.js';
import { installCrds, ModuleImagesConfigs, Modules, type Module } from '../src/api/index.js';
import {
  KubeClient,
  loadKubeconfig,
  ResourceClient,
  ServiceAccounts,
} from '../src/runtime/index.js';
import { readyLabel } from '../src/kmm/module/labels.js';
import { startWorkerDriver } from '../src/cluster/kmm-workers.js';

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

interface Stats {
  writes: { total: number; events: number; byResource: Record<string, number> };
  rssMB: number;
  peakMB: number;
  cpuSeconds: number;
}

function stats(child: ChildProcess): Promise<Stats> {
  return new Promise((resolve) => {
    const on = (m: { type?: string } & Stats) => {
      if (m.type !== 'stats') return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send({ type: 'stats' });
  });
}

const KERNELS = ['5.14.0-284.30.1.el9_2.x86_64', '5.14.0-362.8.1.el9_3.x86_64', '6.1.0-18-amd64'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export default async function bench(args: string[]): Promise<void> {
  const nodes = arg(args, 'nodes', 1000);
  const idleSeconds = arg(args, 'idle', 300);
  await ensureK8sBox((l) => process.stderr.write(`${l}\n`));
  const c = await LocalCluster.start({ ownedByProcess: true });
  let child: ChildProcess | undefined;
  try {
    const client = c.client;
    await installCrds(client);
    const specs = simNodeSpecs(nodes, 'kmm-bench').map((s, i) => ({
      ...s,
      labels: { 'kmm-bench': 'yes' },
      kernelVersion: KERNELS[i % KERNELS.length],
    }));
    await createSimNodes(client, specs, 64);
    await waitForReadyNodes(client, nodes, { timeoutMs: 600_000 });
    const ns = 'kmm-bench';
    await client.request('/api/v1/namespaces', {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    });
    const sas = new ResourceClient(client, ServiceAccounts, 'bench');
    await sas.create({ metadata: { name: 'kmm-operator-module-loader', namespace: ns } });

    const driverClient = new KubeClient(loadKubeconfig([c.kubeconfig]));
    const driver = await startWorkerDriver(driverClient, () => 'succeed', { concurrency: 32 });

    const here = dirname(fileURLToPath(import.meta.url));
    child = fork(join(here, '_kmm-operator.js'), [c.kubeconfig, ns], { stdio: 'inherit' });
    await new Promise<void>((resolve) =>
      child!.on('message', (m: { type?: string }) => m.type === 'ready' && resolve()),
    );
    const before = await stats(child);

    const modules = new ResourceClient<Module>(client, Modules, 'bench');
    const mics = new ResourceClient(client, ModuleImagesConfigs, 'bench');
    const t0 = performance.now();
    await modules.create({
      apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
      kind: 'Module',
      metadata: { name: 'bench', namespace: ns },
      spec: {
        selector: { 'kmm-bench': 'yes' },
        moduleLoader: {
          container: {
            modprobe: { moduleName: 'kmm_bench' },
            kernelMappings: [
              {
                regexp: '^.+$',
                containerImage: 'registry.example/kmm-bench:${KERNEL_FULL_VERSION}',
              },
            ],
          },
        },
      },
    } as Module);
    // Standing in for the image controller: the three images exist.
    let images: string[] = [];
    while (images.length < KERNELS.length) {
      await sleep(50);
      const mic = (await mics.find('bench', ns)) as
        { spec: { images?: { image: string }[] } } | undefined;
      images = mic?.spec.images?.map((i) => i.image) ?? [];
    }
    const tImages = performance.now();
    await mics.patchStatus(
      'bench',
      { status: { imagesStates: images.map((image) => ({ image, status: 'Exists' })) } },
      { namespace: ns },
    );
    // Progress on stderr, to see which stage takes the time.
    const progress = setInterval(() => {
      void stats(child!).then((st) =>
        process.stderr.write(
          `  ${((performance.now() - t0) / 1000).toFixed(0)} s: driver completed ${driver.done.succeeded}; operator ${JSON.stringify(st.writes.byResource)}\n`,
        ),
      );
    }, 10_000);
    for (;;) {
      const m = await modules.get('bench', ns);
      if (m.status?.moduleLoader?.availableNumber === nodes) break;
      await sleep(200);
    }
    const tStatus = performance.now();
    clearInterval(progress);
    for (;;) {
      const list = await client.request<{ items: unknown[] }>('/api/v1/nodes', {
        query: { labelSelector: readyLabel(ns, 'bench') },
      });
      if (list.items.length === nodes) break;
      await sleep(200);
    }
    const tLabels = performance.now();
    // Let the last status and event writes land before counting.
    await sleep(3000);
    const loaded = await stats(child);
    const w = loaded.writes.total - before.writes.total;
    const e = loaded.writes.events - before.writes.events;
    console.log(`${nodes} nodes on ${KERNELS.length} kernels, one Module`);
    console.log(
      `  MIC listed ${KERNELS.length} images after ${((tImages - t0) / 1000).toFixed(2)} s; ` +
        `Module status ${nodes}/${nodes} loaded after ${((tStatus - t0) / 1000).toFixed(1)} s; ` +
        `all ready labels after ${((tLabels - t0) / 1000).toFixed(1)} s`,
    );
    console.log(
      `  operator API writes: ${w - e} (${((w - e) / nodes).toFixed(2)} per node) + ${e} events ` +
        `(${(e / nodes).toFixed(2)} per node); worker pods completed by the driver: ${driver.done.succeeded}`,
    );
    console.log(
      `  operator CPU time during the roll-out: ${(loaded.cpuSeconds - before.cpuSeconds).toFixed(1)} s ` +
        `(the rest of the wall time is the API server, kwok and the driver)`,
    );
    const by = Object.entries(loaded.writes.byResource)
      .map(([k, v]) => [k, v - (before.writes.byResource[k] ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1]);
    console.log(`  by request: ${by.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    await driver.stop();
    driverClient.close();

    await sleep(idleSeconds * 1000);
    const idle = await stats(child);
    console.log(
      `  writes during ${idleSeconds} s idle (node heartbeats continue): ${idle.writes.total - loaded.writes.total}`,
    );
    console.log(
      `  operator memory: RSS ${idle.rssMB.toFixed(0)} MB now, peak ${idle.peakMB.toFixed(0)} MB`,
    );
  } finally {
    child?.kill('SIGTERM');
    await c.stop();
  }
}
