/**
 * npm run bench -- nfd-worker [--runs N] [--host-root DIR]
 *
 * Wall time and peak RSS of one `hwe nfd worker --oneshot --no-publish -o json` pass over this
 * machine's /sys and /proc (or DIR), each run a fresh process as a user or a DaemonSet pod
 * starts it. Also prints the bare `node -e 0` start-up on the same machine for comparison, and
 * the time of a discovery pass inside a running worker. Targets: ≤ 300 ms wall, ≤ 100 MB RSS.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** Written into the child with --import: records its peak RSS and CPU time when it exits. */
const RSS_PROBE =
  'data:text/javascript,' +
  encodeURIComponent(
    "import{writeFileSync}from'node:fs';process.on('exit',()=>{const u=process.resourceUsage();writeFileSync(process.env.HWE_BENCH_RSS_FILE,u.maxRSS+' '+(u.userCPUTime+u.systemCPUTime));});",
  );

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ ms: number; code: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, ...env },
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code: code ?? 1 }),
    );
  });
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)]!;
  return `min ${s[0]!.toFixed(0)}  median ${med.toFixed(0)}  max ${s[s.length - 1]!.toFixed(0)}`;
}

export default async function (args: string[]): Promise<void> {
  let runs = 10;
  let hostRoot: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--runs') runs = Number(args[++i]);
    else if (args[i] === '--host-root') hostRoot = args[++i];
  }
  const workerArgs = [
    MAIN,
    'nfd',
    'worker',
    '--oneshot',
    '--no-publish',
    '-o',
    'json',
    '--config',
    '',
  ];
  if (hostRoot) workerArgs.push('--host-root', hostRoot);

  // Warm the page cache and check the command works before timing it.
  const warm = await run(workerArgs);
  if (warm.code !== 0) throw new Error(`nfd worker exited ${warm.code}`);

  const wall: number[] = [];
  const node: number[] = [];
  for (let i = 0; i < runs; i++) {
    node.push((await run(['-e', '0'])).ms);
    wall.push((await run(workerArgs)).ms);
  }

  // Peak RSS and CPU time (user + system) of the worker and of a bare Node, from the process
  // itself: CPU time is what the pass costs even when other work competes for the cores.
  const dir = mkdtempSync(join(tmpdir(), 'hwe-bench-'));
  const rss: number[] = [];
  const cpu: number[] = [];
  const nodeCpu: number[] = [];
  const cliCpu: number[] = [];
  try {
    const file = join(dir, 'usage');
    const usage = () => readFileSync(file, 'utf8').split(' ').map(Number) as [number, number];
    for (let i = 0; i < runs; i++) {
      await run(['--import', RSS_PROBE, ...workerArgs], { HWE_BENCH_RSS_FILE: file });
      const [kb, us] = usage();
      rss.push(kb / 1024);
      cpu.push(us / 1000);
      await run(['--import', RSS_PROBE, '-e', '0'], { HWE_BENCH_RSS_FILE: file });
      nodeCpu.push(usage()[1] / 1000);
      await run(['--import', RSS_PROBE, MAIN, 'version'], { HWE_BENCH_RSS_FILE: file });
      cliCpu.push(usage()[1] / 1000);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // A pass inside a running worker: what every sleepInterval costs after start-up.
  const { discover, loadConfig, resolveHostPaths } = await import('../src/nfd/worker/index.js');
  const { config } = await loadConfig({});
  const paths = resolveHostPaths(hostRoot);
  const pass: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await discover({ paths, config, nodeName: 'bench' });
    pass.push(performance.now() - t0);
  }

  const [l1] = loadavg();
  process.stdout.write(
    [
      `nfd-worker --oneshot --no-publish over ${hostRoot ?? '/'} (${runs} runs, load average ${l1!.toFixed(2)})`,
      `  wall ms (whole process):  ${stats(wall)}   target ≤ 300`,
      `  peak RSS MB:              ${stats(rss)}   target ≤ 100`,
      `  CPU ms (user+system):     ${stats(cpu)}`,
      `  node -e 0 wall ms:        ${stats(node)}   (Node start-up alone, same machine)`,
      `  node -e 0 CPU ms:         ${stats(nodeCpu)}`,
      `  hwe version CPU ms:       ${stats(cliCpu)}   (Node + loading every hwe command)`,
      `  in-process pass ms:       ${stats(pass.slice(1))}   (first pass ${pass[0]!.toFixed(1)})`,
      '',
    ].join('\n'),
  );
}
