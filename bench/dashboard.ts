/**
 * `hwe dashboard` at scale, on a private local control plane with simulated (kwok) nodes, each
 * with a NodeFeature and feature labels, a few NodeFeatureRules and a Module selecting every
 * node. Prints: the server's time to serve and its RSS, the first render of the nodes and
 * Modules views in headless Chromium, how many rows the table really draws, the size of a page
 * of rows, and the update latency (a change on the apiserver until the page shows it).
 *
 * Usage: dashboard [--nodes 5000] [--updates 5]
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createSimNodes, simNodeSpecs } from '../src/cluster/nodes.js';
import { mapLimit } from '../src/runtime/index.js';
import { launchChromium, startUntil } from '../test/support/browser.js';
import { HWE_MAIN } from '../test/support/cli.js';
import { benchCluster, stats } from './_support.js';

const NS = 'dashboard-bench';
const F = 'feature.node.kubernetes.io';
const NFD = '/apis/nfd.k8s-sigs.io/v1alpha1';
const KERNELS = [
  '5.14.0-284.30.1.el9_2.x86_64',
  '5.14.0-362.8.1.el9_3.x86_64',
  '5.14.0-427.13.1.el9_4.x86_64',
  '6.1.0-18-amd64',
  '4.18.0-513.el8.x86_64',
];
const VENDORS = ['GenuineIntel', 'AuthenticAMD'];

function flag(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}
const log = (s: string) => process.stderr.write(`${s}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const out = (s: string) => process.stdout.write(`${s}\n`);

/** A page expression: the nodes view counts `n` nodes. */
const total = (n: number) => `document.getElementById('nodes-total')?.textContent === '${n}'`;

/** Resident and peak resident memory of a process, in MiB, from /proc. */
function rss(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

export default async function (args: string[]): Promise<void> {
  const nNodes = flag(args, 'nodes', 5000);
  const updates = flag(args, 'updates', 5);
  out(
    `dashboard benchmark: ${nNodes} nodes; machine: ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)}`,
  );
  log('starting a local control plane');
  const cluster = await benchCluster(NS, { nodeLeaseDurationSeconds: 600 });
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const client = cluster.client;
    const specs = simNodeSpecs(nNodes, 'dash').map((s, i) => ({
      ...s,
      kernelVersion: KERNELS[i % KERNELS.length],
      labels: {
        'hwe.bench/dashboard': 'yes',
        [`${F}/cpu-cpuid.AVX2`]: 'true',
        [`${F}/cpu-model.vendor_id`]: VENDORS[i % 2]!,
        [`${F}/kernel-version.major`]: KERNELS[i % KERNELS.length]!.split('.')[0]!,
        [`${F}/pci-0300_${i % 3 ? '10de' : '1002'}.present`]: 'true',
        [`${F}/system-os_release.ID`]: 'rhcos',
      },
    }));
    let t = performance.now();
    await createSimNodes(client, specs, 48);
    log(`created ${nNodes} nodes in ${secs(performance.now() - t)}`);
    t = performance.now();
    await mapLimit([...specs.entries()], 48, ([i, s]) =>
      client.request(`${NFD}/namespaces/${NS}/nodefeatures`, {
        method: 'POST',
        body: {
          apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
          kind: 'NodeFeature',
          metadata: { name: s.name, labels: { 'nfd.node.kubernetes.io/node-name': s.name } },
          spec: {
            features: {
              flags: { 'cpu.cpuid': { elements: { AVX2: {}, SSE4: {} } } },
              attributes: {
                'cpu.model': { elements: { vendor_id: VENDORS[i % 2]!, family: '6' } },
                'kernel.version': { elements: { full: KERNELS[i % KERNELS.length]! } },
              },
            },
          },
        },
      }),
    );
    log(`created ${nNodes} NodeFeatures in ${secs(performance.now() - t)}`);
    for (const [i, v] of VENDORS.entries()) {
      await client.request(`${NFD}/nodefeaturerules`, {
        method: 'POST',
        body: {
          apiVersion: 'nfd.k8s-sigs.io/v1alpha1',
          kind: 'NodeFeatureRule',
          metadata: { name: `vendor-${i}` },
          spec: {
            rules: [
              {
                name: v,
                labels: { [`vendor-${i}`]: 'true' },
                matchFeatures: [
                  {
                    feature: 'cpu.model',
                    matchExpressions: { vendor_id: { op: 'In', value: [v] } },
                  },
                ],
              },
            ],
          },
        },
      });
    }
    await client.request(`/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${NS}/modules`, {
      method: 'POST',
      body: {
        apiVersion: 'kmm.sigs.x-k8s.io/v1beta1',
        kind: 'Module',
        metadata: { name: 'drv', namespace: NS },
        spec: {
          selector: { 'hwe.bench/dashboard': 'yes' },
          moduleLoader: {
            container: {
              modprobe: { moduleName: 'drv' },
              kernelMappings: [
                { regexp: '^5\\.14', containerImage: 'reg.example/drv:${KERNEL_FULL_VERSION}' },
              ],
            },
          },
        },
      },
    });

    t = performance.now();
    const dash = await startUntil(
      HWE_MAIN,
      ['dashboard', '--kubeconfig', cluster.kubeconfig, '--listen', '127.0.0.1:0'],
      /dashboard: serving (http:\/\/127\.0\.0\.1:\d+\/)/,
      600_000,
    );
    stops.push(() => dash.stop());
    const url = dash.match[1]!;
    out(`server: caches synced and serving after ${secs(performance.now() - t)}`);
    const pageBytes = (await (await fetch(`${url}api/nodes?limit=200`)).text()).length;
    const allBytes = (await (await fetch(`${url}api/nodes?limit=100000`)).text()).length;
    out(
      `payload: a page of 200 node rows ${(pageBytes / 1024).toFixed(0)} KiB; the largest page the server gives (500 rows) ${(allBytes / 1024).toFixed(0)} KiB`,
    );

    const browser = await launchChromium();
    stops.push(() => browser.close());
    const page = await browser.newPage();
    t = performance.now();
    await page.goto(`${url}#nodes`);
    await page.waitForFunction(total(nNodes), { timeout: 600_000 });
    await page.waitForSelector('.rows .row[data-node]', { timeout: 600_000 });
    out(`first render, nodes view (${nNodes} nodes): ${secs(performance.now() - t)}`);
    const drawn = await page.$$eval('.rows .row', (r) => r.length);
    out(`rows in the DOM: ${drawn} of ${nNodes} (the visible ones)`);
    t = performance.now();
    await page.goto(`${url}#modules`);
    await page.waitForSelector('[data-module="dashboard-bench/drv"] .matched', {
      timeout: 600_000,
    });
    out(`first render, Modules view: ${secs(performance.now() - t)}`);
    t = performance.now();
    await page.goto(`${url}#rules`);
    await page.waitForSelector('tr[data-rule="vendor-0"]', { timeout: 600_000 });
    out(
      `first render, Rules view (${VENDORS.length} rules × ${nNodes} nodes): ${secs(performance.now() - t)}`,
    );

    // Update latency: a label on one node until the searching page counts it.
    await page.goto(`${url}#nodes`);
    await page.waitForSelector('#search');
    const lat: number[] = [];
    for (let i = 0; i < updates; i++) {
      const mark = `bench-mark-${i}`;
      await page.$eval('#search', (e) => {
        (e as unknown as { value: string }).value = '';
      });
      await page.type('#search', mark);
      await page.waitForFunction(total(0), { timeout: 120_000 });
      const target = specs[(i * 997) % nNodes]!.name;
      const t0 = performance.now();
      await client.request(`/api/v1/nodes/${target}`, {
        method: 'PATCH',
        body: { metadata: { labels: { [`${F}/${mark}`]: 'true' } } },
        contentType: 'application/merge-patch+json',
      });
      await page.waitForFunction(total(1), { timeout: 120_000 });
      lat.push(performance.now() - t0);
    }
    out(`update latency (node label → nodes view shows it, ${updates} runs, ms): ${stats(lat)}`);
    const mem = rss(dash.pid);
    out(`server RSS: ${mem.rss.toFixed(0)} MiB (peak ${mem.peak.toFixed(0)} MiB)`);
  } finally {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await cluster.stop();
  }
}
