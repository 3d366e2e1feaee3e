/**
 * Entry of the one-file nfd-worker program (`dist/nfd-worker/nfd-worker.cjs`, bundled by
 * `scripts/bundle.ts` during `npm run build`; `bin/hwe` runs it for `nfd-worker` and
 * `hwe nfd worker`, the image links `nfd-worker` to it). A DaemonSet starts the worker on every
 * node and `-oneshot` runs it as a short process, so start-up counts: one file instead of
 * dozens of modules, and output written straight to the file descriptors. (Node's compile
 * cache cannot help: this file is compiled before it could turn the cache on, and a pod starts
 * with an empty /tmp.)
 */
import { writeSync } from 'node:fs';
import { runCommand } from '../../cli/command.js';
import { workerCommand } from './cli.js';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * stdout or stderr written with write(2). `process.stdout` would load Node's stream classes,
 * a tenth of a one-shot process's CPU time; on Linux its writes are synchronous too. A
 * descriptor someone left non-blocking is waited on.
 */
function fdWriter(fd: number): NodeJS.WritableStream {
  const write = (chunk: string | Uint8Array): boolean => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (let off = 0; off < buf.length;) {
      try {
        off += writeSync(fd, buf, off);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(pause, 0, 0, 1);
      }
    }
    return true;
  };
  return { write } as unknown as NodeJS.WritableStream;
}

// Named as the full CLI names it, so that help and messages read the same either way.
void runCommand({ ...workerCommand, name: 'hwe nfd worker' }, process.argv.slice(2), {
  stdout: fdWriter(1),
  stderr: fdWriter(2),
}).then((code) => {
  process.exitCode = code;
});
