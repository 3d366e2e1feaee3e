/**
 * Bundles programs whose start-up time matters into one file each (run by `npm run build`
 * after tsc): the nfd-worker, which a DaemonSet starts on every node and `-oneshot` runs as a
 * short process. Modules it loads only sometimes (the Kubernetes client for publishing, YAML
 * for a config file) stay separate chunks, loaded when used. Dependencies resolved at run time
 * (re2js, see src/nfd/rules/re2.ts) and yaml come from node_modules as usual.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
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
