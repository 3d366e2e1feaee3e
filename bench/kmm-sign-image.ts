/**
 * The signing job's work end to end against a local docker-registry: pull an image holding
 * kernel modules (and an unrelated layer the job must skip over), sign the modules, push one
 * more layer. Measures what a cluster's signing pod spends, in time and memory.
 *
 *   node .build/ID/bench/main.js kmm-sign-image [--mb 128] [--files 8] [--other-mb 64] [--runs 3]
 *
 * Prints seconds and MB/s of module data per run, and the process's RSS after each.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { signImage } from '../src/kmm/signjob/index.js';
import { RegistryClient } from '../src/oci/index.js';
import { createSigner } from '../src/signing/index.js';
import { makeKeyPair, makeModule, pseudoRandom } from '../test/fixtures/signing/fixtures.js';
import { pushTestImage, startRegistry } from '../test/support/registry.js';

function option(args: string[], name: string, def: string): number {
  const i = args.indexOf(`--${name}`);
  return Number(i >= 0 && args[i + 1] ? args[i + 1] : def);
}

export default async function (args: string[]): Promise<void> {
  const totalMB = option(args, 'mb', '128');
  const count = option(args, 'files', '8');
  const otherMB = option(args, 'other-mb', '64');
  const runs = option(args, 'runs', '3');
  const dir = await mkdtemp(join(tmpdir(), 'bench-sign-image-'));
  const reg = await startRegistry();
  const client = new RegistryClient({ registry: reg.host, tls: reg.tls });
  try {
    const keys = await makeKeyPair(dir, 'bench');
    const signer = createSigner({
      key: await readFile(keys.key),
      cert: await readFile(keys.certDer),
    });
    const per = Math.floor((totalMB * 2 ** 20) / count);
    const files = [];
    for (let i = 0; i < count; i++) {
      const ko = await makeModule(dir, `bench_${i}`, { payloadBytes: per });
      files.push({ path: `opt/lib/modules/6.1.0/extra/bench_${i}.ko`, data: await readFile(ko) });
    }
    const moduleBytes = files.reduce((n, f) => n + f.data.length, 0);
    await pushTestImage(client, 'bench/mods', 'unsigned', {
      layers: [[{ path: 'usr/share/blob', data: pseudoRandom(otherMB * 2 ** 20, 'other') }], files],
    });
    process.stdout.write(
      `${count} modules, ${(moduleBytes / 2 ** 20).toFixed(0)} MB, under a ${otherMB} MB layer\n`,
    );
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      const out = await signImage({
        unsignedImage: `${reg.host}/bench/mods:unsigned`,
        image: `${reg.host}/bench/mods:signed-${r}`,
        filesToSign: ['/opt/lib/modules/*/extra/*.ko'],
        signer,
        pullTLS: reg.tls,
        pushTLS: reg.tls,
        push: true,
      });
      const s = (performance.now() - t) / 1000;
      const rss = process.memoryUsage().rss / 2 ** 20;
      process.stdout.write(
        `run ${r + 1}: ${out.signed.length} signed in ${s.toFixed(2)} s, ` +
          `${(moduleBytes / 2 ** 20 / s).toFixed(1)} MB/s of modules, rss ${rss.toFixed(0)} MB\n`,
      );
    }
  } finally {
    client.close();
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
