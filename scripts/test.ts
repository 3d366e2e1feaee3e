/**
 * Runs the test suite: unit tests (dist/src/**\/*.test.js) and integration tests
 * (dist/test/**\/*.test.js). Integration tests share one local control plane, started here once
 * per run and stopped at the end (a watchdog stops it even if this process is killed).
 *
 *   node dist/scripts/test.js            all tests
 *   node dist/scripts/test.js --unit     unit tests only, no control plane
 *   node dist/scripts/test.js FILE...    the given compiled test files
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LocalCluster } from '../src/cluster/local.js';
import { PACKAGE_ROOT } from '../src/version.js';

function findTests(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const unitOnly = argv.includes('--unit');
  const given = argv.filter((a) => !a.startsWith('--')).map((f) => resolve(f));
  const dist = join(PACKAGE_ROOT, 'dist');
  const unit = findTests(join(dist, 'src'));
  const integration = findTests(join(dist, 'test'));
  const files = given.length ? given : unitOnly ? unit : [...unit, ...integration];
  const needsCluster = files.some((f) => f.startsWith(join(dist, 'test') + '/'));

  let cluster: LocalCluster | undefined;
  const env = { ...process.env };
  if (needsCluster && !env.HWE_TEST_CLUSTER_DIR) {
    const t0 = Date.now();
    cluster = await LocalCluster.start({
      ownedByProcess: true,
      log: (l) => process.stderr.write(`[cluster] ${l}\n`),
    });
    process.stderr.write(
      `[cluster] started in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${cluster.kubeconfig}\n`,
    );
    env.HWE_TEST_CLUSTER_DIR = cluster.dir;
  }
  const stop = async () => {
    if (cluster) await cluster.stop();
    cluster = undefined;
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => void stop().then(() => process.exit(130)));
  }
  try {
    const code = await new Promise<number>((res) => {
      const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], {
        stdio: 'inherit',
        env,
      });
      child.on('close', (c) => res(c ?? 1));
    });
    return code;
  } finally {
    await stop();
  }
}

process.exitCode = await main();
