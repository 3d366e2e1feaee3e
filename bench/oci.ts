/**
 * OCI client throughput against a local docker-registry: blob upload (monolithic and
 * chunked), verified download, layer extraction, and appending a layer.
 *
 *   node .build/ID/bench/main.js oci [SIZE_MB]
 */
import { randomBytes } from 'node:crypto';
import {
  RegistryClient,
  appendLayer,
  buildLayer,
  extractFiles,
  parseReference,
  resolveImage,
} from '../src/oci/index.js';
import { pushTestImage, startRegistry } from '../test/support/registry.js';

async function timed<T>(what: string, mb: number, fn: () => Promise<T>): Promise<T> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rss = process.memoryUsage().rss / 2 ** 20;
  process.stdout.write(
    `${what.padEnd(44)} ${s.toFixed(3).padStart(8)} s ${(mb / s).toFixed(1).padStart(8)} MB/s  rss ${rss.toFixed(0)} MB\n`,
  );
  return r;
}

export default async function (args: string[]): Promise<void> {
  const mb = Number(args[0] ?? 64);
  const reg = await startRegistry();
  const client = new RegistryClient({ registry: reg.host, tls: reg.tls });
  try {
    // Random data does not compress, so the figures are those of the bytes moved.
    const data = randomBytes(mb * 2 ** 20);
    const mono = await timed(`upload ${mb} MB monolithic`, mb, () =>
      client.uploadBlob('bench/a', data),
    );
    const other = Buffer.from(data);
    other[0] = other[0]! ^ 1;
    await timed(`upload ${mb} MB in 8 MB PATCH chunks`, mb, () =>
      client.uploadBlob('bench/b', other, { chunkSize: 8 << 20 }),
    );
    await timed(`download ${mb} MB with sha256 check`, mb, () =>
      client.getBlob('bench/a', mono.digest),
    );

    const files = Array.from({ length: 64 }, (_, i) => ({
      path: `opt/lib/modules/6.1.0/m${i}.ko`,
      data: data.subarray(i * (data.length / 64), (i + 1) * (data.length / 64)),
    }));
    const layer = await timed(`build gzip layer of 64 files, ${mb} MB`, mb, () =>
      buildLayer(files),
    );
    await pushTestImage(client, 'bench/img', 'v1', { layers: [layer.blob] });
    const ref = parseReference(`${reg.host}/bench/img:v1`);
    const img = await resolveImage(client, ref);
    await timed(`extract 1 file from a ${mb} MB layer`, mb, () =>
      extractFiles(client, img, ['opt/lib/modules/6.1.0/m7.ko']),
    );
    await timed(`append a 1 MB layer, push (mount) as new tag`, 1, () =>
      appendLayer({
        source: { client, ref },
        target: { client, ref: parseReference(`${reg.host}/bench/signed:v1`) },
        files: [{ path: 'opt/lib/modules/6.1.0/m7.ko', data: data.subarray(0, 2 ** 20) }],
      }),
    );
  } finally {
    client.close();
    await reg.stop();
  }
}
