/**
 * npm run bench -- cluster [--starts N] [--nodes N]
 *
 * Warm start time of the local control plane (binaries already built): median of N starts,
 * each until etcd, kube-apiserver, controller-manager, scheduler and kwok are ready. Then, on one
 * cluster, the time from creating 1,000 simulated nodes until all are Ready.
 */
import { LocalCluster } from '../src/cluster/local.js';
import { ensureK8sBox } from '../src/cluster/k8s-box.js';
import { createSimNodes, simNodeSpecs, waitForReadyNodes } from '../src/cluster/nodes.js';

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export default async function bench(args: string[]): Promise<void> {
  const starts = arg(args, 'starts', 3);
  const nodes = arg(args, 'nodes', 1000);
  await ensureK8sBox((l) => process.stderr.write(`${l}\n`));

  const times: number[] = [];
  for (let i = 0; i < starts; i++) {
    const t0 = performance.now();
    const c = await LocalCluster.start({ ownedByProcess: true });
    times.push(performance.now() - t0);
    await c.stop();
  }
  console.log(
    `control plane warm start: median ${(median(times) / 1000).toFixed(2)} s over ${starts} starts ` +
      `(${times.map((t) => (t / 1000).toFixed(2)).join(', ')})`,
  );

  const c = await LocalCluster.start({ ownedByProcess: true });
  try {
    const t0 = performance.now();
    await createSimNodes(c.client, simNodeSpecs(nodes, 'bench'), 64);
    const created = performance.now() - t0;
    await waitForReadyNodes(c.client, nodes, { timeoutMs: 600_000 });
    const ready = performance.now() - t0;
    console.log(
      `${nodes} simulated nodes: created in ${(created / 1000).toFixed(1)} s, all Ready after ${(ready / 1000).toFixed(1)} s`,
    );
  } finally {
    await c.stop();
  }
}
