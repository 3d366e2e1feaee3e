/** Pieces the benchmarks share: timing child processes, summing figures, a fresh cluster. */
import { spawn, type StdioOptions } from 'node:child_process';
import { installCrds } from '../src/api/index.js';
import { LocalCluster, type StartOptions } from '../src/cluster/local.js';

/**
 * Given to a child with `--import`: when the child exits it writes its peak RSS (KiB) and CPU
 * time (µs, user + system) to `$HWE_BENCH_RSS_FILE`.
 */
export const RSS_PROBE =
  'data:text/javascript,' +
  encodeURIComponent(
    "import{writeFileSync}from'node:fs';process.on('exit',()=>{const u=process.resourceUsage();writeFileSync(process.env.HWE_BENCH_RSS_FILE,u.maxRSS+' '+(u.userCPUTime+u.systemCPUTime));});",
  );

/**
 * The same probe as a CommonJS file's text, for `--require FILE`: unlike `--import` it does
 * not start Node's ES module loader, so a CommonJS program is measured as it runs.
 */
export const RSS_PROBE_CJS =
  "process.on('exit',()=>{const u=process.resourceUsage();process.getBuiltinModule('node:fs').writeFileSync(process.env.HWE_BENCH_RSS_FILE,u.maxRSS+' '+(u.userCPUTime+u.systemCPUTime));});";

/** Runs `node ARGS…` and resolves with its wall time (ms) and exit code. */
export function runNode(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  stdio: StdioOptions = 'ignore',
): Promise<{ ms: number; code: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio, env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('exit', (code) =>
      resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code: code ?? 1 }),
    );
  });
}

/** `median M (min A, max B)`. */
export function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)]!;
  const f = (x: number) => x.toFixed(x < 100 ? 1 : 0);
  return `median ${f(med)} (min ${f(s[0]!)}, max ${f(s[s.length - 1]!)})`;
}

/** A local control plane of its own, with hwe's CRDs and the namespace `ns`. */
export async function benchCluster(
  ns: string,
  opts: Omit<StartOptions, 'ownedByProcess'> = {},
): Promise<LocalCluster> {
  const cluster = await LocalCluster.start({ ownedByProcess: true, ...opts });
  try {
    await installCrds(cluster.client);
    await cluster.client.request('/api/v1/namespaces', {
      method: 'POST',
      body: { metadata: { name: ns } },
    });
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
