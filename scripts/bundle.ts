/**
 * Bundles programs whose start-up time matters into one file each (run by `npm run build`
 * after tsc): the nfd-worker, which a DaemonSet starts on every node and `-oneshot` runs as a
 * short process. Modules it loads only sometimes (the Kubernetes client for publishing, YAML
 * for a config file) stay separate chunks, loaded when used. Dependencies resolved at run time
 * (re2js, see src/nfd/rules/re2.ts) and yaml come from node_modules as usual.
 *
 * On x86 it also builds the worker's CPUID helper (src/nfd/worker/cpuid-helper) next to the
 * bundle with the system's C compiler; without a compiler the worker reads /dev/cpu/N/cpuid or
 * /proc/cpuinfo instead, and says which.
 */
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { arch } from 'node:os';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${dist}nfd-worker`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { 'nfd-worker': `${dist}src/nfd/worker/main.js` },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  packages: 'bundle',
  logLevel: 'warning',
  // Keep stack traces readable in logs.
  minifyWhitespace: false,
  legalComments: 'none',
  // Loaded from node_modules when used (a config file, -o yaml): yaml is CommonJS, which
  // Node's own loader gives named exports.
  external: ['yaml'],
});

if (arch() === 'x64' || arch() === 'ia32') {
  const src = fileURLToPath(
    new URL('../../src/nfd/worker/cpuid-helper/hwe-cpuid.c', import.meta.url),
  );
  const cc = process.env['CC'] || 'cc';
  const r = spawnSync(cc, ['-O2', '-Wall', '-o', `${outdir}/hwe-cpuid`, src], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(
      `build: ${cc} could not build the CPUID helper (${r.error?.message ?? `exit ${r.status}`}); nfd-worker will read /dev/cpu/N/cpuid or /proc/cpuinfo\n`,
    );
  }
}
