/**
 * npm run bench -- nfd-worker [--runs N] [--host-root DIR]
 *
 * Next to upstream nfd-worker v0.19.0's figures for one `-oneshot -no-publish` process on an
 * AMD EPYC VM (median of 5: 0.024 s wall, 0.025 s CPU, 32.5 MiB):
 * - a discovery pass inside the long-running worker: CPU ms per pass (target ≤ 25, upstream's
 *   whole process), after the first pass;
 * - one `nfd-worker -oneshot -no-publish -o json` process over this machine's /sys and /proc
 *   (or DIR) as the image runs it: `node --lite-mode dist/nfd-worker/nfd-worker.cjs` (the image
 *   links `nfd-worker` to that file, whose first line runs node so): wall ms (target ≤ 100),
 *   CPU ms, peak RSS (target ≤ 45 MiB);
 * - a bare `node --lite-mode -e 0` in the same runs, and the difference of the medians: what is
 *   Node's own start-up and what is hwe's;
 * - the same through `bin/hwe nfd worker` (a checkout) and through the unbundled CLI.
 * The processes of one run follow each other, so all of them meet the same load.
 * Figures are for the Node.js running the bench (`process.execPath`); the image has Node 24.
 * On a loaded machine wall time includes waiting for a core; CPU time and RSS do not.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGE_WORKER_NODE_OPTION } from '../scripts/image.js';
import { RSS_PROBE_CJS, runNode, stats } from './_support.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const WORKER = fileURLToPath(new URL('../nfd-worker/nfd-worker.cjs', import.meta.url));
const LAUNCHER = fileURLToPath(new URL('../../bin/hwe', import.meta.url));
const UPSTREAM = { wallMs: 24, cpuMs: 25, rssMiB: 32.5 };

type Figures = { wall: number[]; cpu: number[]; rss: number[] };

/**
 * Wall ms, CPU ms and peak RSS MiB of `runs` fresh processes of each command line, taken in
 * turn (one of each per round), so that every command meets the same load.
 */
async function processFigures<K extends string>(
  commands: Record<K, string[]>,
  runs: number,
  file: string,
  probe: string,
): Promise<Record<K, Figures>> {
  const keys = Object.keys(commands) as K[];
  const out = {} as Record<K, Figures>;
  for (const k of keys) {
    out[k] = { wall: [], cpu: [], rss: [] };
    const warm = await runNode(commands[k]);
    if (warm.code !== 0) throw new Error(`${commands[k].join(' ')} exited ${warm.code}`);
  }
  for (let i = 0; i < runs; i++) {
    for (const k of keys) {
      out[k].wall.push((await runNode(commands[k])).ms);
      await runNode(['--require', probe, ...commands[k]], { HWE_BENCH_RSS_FILE: file });
      const [kb, us] = readFileSync(file, 'utf8').split(' ').map(Number) as [number, number];
      out[k].rss.push(kb / 1024);
      out[k].cpu.push(us / 1000);
    }
  }
  return out;
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

export default async function (args: string[]): Promise<void> {
  let runs = 10;
  let hostRoot: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--runs') runs = Number(args[++i]);
    else if (args[i] === '--host-root') hostRoot = args[++i];
  }
  const passArgs = ['--oneshot', '--no-publish', '-o', 'json', '--config', ''];
  if (hostRoot) passArgs.push('--host-root', hostRoot);

  const dir = mkdtempSync(join(tmpdir(), 'hwe-bench-'));
  const file = join(dir, 'usage');
  const probe = join(dir, 'probe.cjs');
  writeFileSync(probe, RSS_PROBE_CJS);
  const opt = IMAGE_WORKER_NODE_OPTION;
  let f;
  try {
    f = await processFigures(
      {
        bundled: [opt, WORKER, ...passArgs],
        bare: [opt, '-e', '0'],
        launcher: [LAUNCHER, 'nfd', 'worker', ...passArgs],
        cli: [MAIN, 'nfd', 'worker', ...passArgs],
      },
      runs,
      file,
      probe,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const { bundled, bare, launcher, cli } = f;
  const share = (k: keyof Figures, digits: number) =>
    (median(bundled[k]) - median(bare[k])).toFixed(digits);

  // A pass inside a running worker: what every sleepInterval costs after start-up.
  const { discover, loadConfig, resolveHostPaths } = await import('../src/nfd/worker/index.js');
  const { config } = await loadConfig({});
  const paths = resolveHostPaths(hostRoot);
  const passCpu: number[] = [];
  const passWall: number[] = [];
  for (let i = 0; i < 21; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await discover({ paths, config, nodeName: 'bench' });
    JSON.stringify(r.features);
    passWall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    passCpu.push((c.user + c.system) / 1000);
  }

  const [l1] = loadavg();
  const up = (x: number, unit: string) => `upstream ${x}${unit}`;
  process.stdout.write(
    [
      `nfd-worker -oneshot -no-publish over ${hostRoot ?? '/'} (${runs} runs, Node ${process.versions.node}, load average ${l1!.toFixed(2)})`,
      `  pass in the running worker, CPU ms: ${stats(passCpu.slice(1))}   target ≤ 25 (${up(UPSTREAM.cpuMs, ' ms')} whole process); first pass ${passCpu[0]!.toFixed(1)}`,
      `  pass in the running worker, wall ms: ${stats(passWall.slice(1))}`,
      `  oneshot process as the image runs it (node ${opt} dist/nfd-worker/nfd-worker.cjs), wall ms: ${stats(bundled.wall)}   target ≤ 100 (${up(UPSTREAM.wallMs, ' ms')})`,
      `  oneshot process as the image runs it, CPU ms:  ${stats(bundled.cpu)}   (${up(UPSTREAM.cpuMs, ' ms')})`,
      `  oneshot process as the image runs it, RSS MiB: ${stats(bundled.rss)}   target ≤ 45 (${up(UPSTREAM.rssMiB, ' MiB')})`,
      `  bin/hwe nfd worker (a checkout; JIT on): wall ms ${stats(launcher.wall)}; CPU ms ${stats(launcher.cpu)}; RSS MiB ${stats(launcher.rss)}`,
      `  unbundled CLI (dist/src/cli/main.js): wall ms ${stats(cli.wall)}; CPU ms ${stats(cli.cpu)}; RSS MiB ${stats(cli.rss)}`,
      `  node ${opt} -e 0 (Node start-up alone, same runs): wall ms ${stats(bare.wall)}; CPU ms ${stats(bare.cpu)}; RSS MiB ${stats(bare.rss)}`,
      `  hwe's share of the oneshot process (its median less node's): wall ${share('wall', 0)} ms, CPU ${share('cpu', 0)} ms, RSS ${share('rss', 1)} MiB`,
      '',
    ].join('\n'),
  );
}
