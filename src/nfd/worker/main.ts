/**
 * Entry of the one-file nfd-worker program (`dist/nfd-worker/nfd-worker.mjs`, bundled by
 * `scripts/bundle.ts` during `npm run build`; `bin/hwe` runs it for `nfd-worker` and
 * `hwe nfd worker`). A DaemonSet starts the worker on every node and `-oneshot` runs it as a
 * short process, so start-up counts: one file instead of dozens of modules, and Node's
 * compile cache where Node has one (22.1 and later).
 */
import module from 'node:module';
import { runCommand } from '../../command/index.js';
import { workerCommand } from './command.js';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
// Named as the full CLI names it, so that help and messages read the same either way.
process.exitCode = await runCommand(
  { ...workerCommand, name: 'hwe nfd worker' },
  process.argv.slice(2),
);
