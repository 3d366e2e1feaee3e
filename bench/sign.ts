/**
 * Module signing throughput against sha256sum on the same files: signing must hash every byte
 * anyway, so sha256sum's speed is the natural yardstick (target: at least 80 % of it).
 *
 *   node .build/ID/bench/main.js sign [--mb 200] [--files 8] [--runs 5] [--hash sha256]
 *
 * Prints MB/s (medians of the runs) for sha256sum, in-place signing with signModuleFile (read,
 * hash, write a temporary copy, rename), and signModule on buffers already in memory.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { makeKeyPair, makeModule } from '../test/fixtures/signing/fixtures.js';
import { createSigner, signModule, signModuleFile } from '../src/signing/index.js';

const run = promisify(execFile);

function option(args: string[], name: string, def: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function timed(fn: () => unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

export default async function (args: string[]): Promise<void> {
  const totalMB = Number(option(args, 'mb', '200'));
  const count = Number(option(args, 'files', '8'));
  const runs = Number(option(args, 'runs', '5'));
  const hash = option(args, 'hash', 'sha256');
  const dir = await mkdtemp(join(tmpdir(), 'hwe-bench-sign-'));
  try {
    const per = Math.floor((totalMB * 1e6) / count);
    const files: string[] = [];
    for (let i = 0; i < count; i++)
      files.push(await makeModule(dir, `bench_${i}`, { payloadBytes: per }));
    const kp = await makeKeyPair(dir, 'bench');
    const signer = createSigner({
      key: await readFile(kp.key),
      cert: await readFile(kp.certDer),
      hash,
    });
    const bytes = (await Promise.all(files.map((f) => readFile(f)))).reduce(
      (n, b) => n + b.length,
      0,
    );
    const mb = bytes / 1e6;

    // Warm the page cache and sign once, so every timed run re-signs (replaces) a signature.
    await run('sha256sum', files);
    for (const f of files) await signModuleFile(f, signer);

    const shaTimes: number[] = [];
    const fileTimes: number[] = [];
    const memTimes: number[] = [];
    const buffers = await Promise.all(files.map((f) => readFile(f)));
    for (let r = 0; r < runs; r++) {
      shaTimes.push(await timed(() => run('sha256sum', files)));
      fileTimes.push(
        await timed(async () => {
          for (const f of files) await signModuleFile(f, signer);
        }),
      );
      memTimes.push(
        await timed(() => {
          for (const b of buffers) signModule(b, signer);
        }),
      );
    }
    const rate = (t: number[]) => mb / median(t);
    const sha = rate(shaTimes);
    const inPlace = rate(fileTimes);
    const inMemory = rate(memTimes);
    const line = (name: string, v: number, t: number[]) =>
      `${name.padEnd(30)} ${v.toFixed(0).padStart(6)} MB/s   (median of ${t.length}: ${median(t).toFixed(3)} s)`;
    process.stdout.write(
      [
        `signing ${count} modules, ${mb.toFixed(1)} MB, ${hash}, RSA-2048, ${runs} runs`,
        line('sha256sum', sha, shaTimes),
        line('signModuleFile (in place)', inPlace, fileTimes),
        line('signModule (in memory)', inMemory, memTimes),
        `ratio in place / sha256sum      ${((inPlace / sha) * 100).toFixed(0)} %   (target >= 80 %)`,
        `ratio in memory / sha256sum     ${((inMemory / sha) * 100).toFixed(0)} %`,
        '',
      ].join('\n'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
