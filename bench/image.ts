/**
 * The hwe image: its compressed size per layer (what a node pulls) and how long `nfd-worker
 * -oneshot -no-publish` takes from start to exit inside the unpacked image (chroot, as root),
 * over the intel-rhcos fixture host mounted at /host-*.
 *
 *   npm run bench -- image [RUNS]
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../scripts/image.js';
import { hostFixture } from '../test/fixtures/hosts/index.js';
import { runInImage, unpackImage } from '../test/integration/image/unpacked.js';
import { startRegistry } from '../test/support/registry.js';

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

export default async function (args: string[]): Promise<void> {
  const runs = Number(args[0] ?? 10);
  if (process.getuid?.() !== 0)
    throw new Error('the image bench runs the image with chroot: run it as root');
  const reg = await startRegistry();
  const dir = await mkdtemp(join(tmpdir(), 'hwe-bench-image-'));
  try {
    const built = await buildImage({
      push: `${reg.host}/hwe:bench`,
      platforms: ['linux/amd64'],
      tls: reg.tls,
      log: (l) => process.stderr.write(`image: ${l}\n`),
    });
    const image = built.images[0]!;
    process.stdout.write(
      `image ${image.platform}: ${mb(image.compressedSize)} compressed (target ≤ 60 MB)\n`,
    );
    for (const l of image.layers)
      process.stdout.write(`  layer ${l.name.padEnd(5)} ${mb(l.size).padStart(9)}\n`);

    const img = await unpackImage(
      built.ref,
      reg.tls,
      { os: 'linux', architecture: 'amd64' },
      join(dir, 'root'),
    );
    const fixture = hostFixture('intel-rhcos');
    const mounts: [string, string][] = [];
    for (const d of ['sys', 'proc', 'etc', 'boot', 'lib', 'usr', 'var']) {
      if (!existsSync(join(fixture, d))) continue;
      await mkdir(join(img.root, `host-${d}`));
      mounts.push([join(fixture, d), `/host-${d}`]);
    }
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      // the mount namespace and chroot add a few ms, as a runtime's setup does
      const t0 = process.hrtime.bigint();
      const r = await runInImage(img, ['nfd-worker', '-oneshot', '-no-publish', '-o', 'json'], {
        mounts,
        env: { NODE_NAME: 'bench' },
      });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.code !== 0) throw new Error(`nfd-worker failed: ${r.stderr}`);
    }
    times.sort((a, b) => a - b);
    const pick = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
    process.stdout.write(
      `nfd-worker -oneshot -no-publish in the image, start to exit (${runs} runs): ` +
        `median ${pick(0.5).toFixed(0)} ms, min ${times[0]!.toFixed(0)} ms, max ${times[times.length - 1]!.toFixed(0)} ms\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
    await reg.stop();
  }
}
