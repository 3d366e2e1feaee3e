import { createWriteStream } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';

/** Every regular file under `dir`, in a stable order. */
async function* files(dir: string): AsyncGenerator<string> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.isFile()) yield p;
  }
}

/**
 * Packs `dir` into `out` (a gzip-compressed tar whose entries start with the folder's name, as
 * `tar czf out -C parent dir` would), one file in memory at a time.
 */
export async function archiveDir(dir: string, out: string): Promise<void> {
  const pack = tar.pack();
  const top = basename(dir);
  const feed = (async () => {
    for await (const f of files(dir)) {
      const data = await readFile(f);
      await new Promise<void>((resolve, reject) =>
        pack.entry(
          { name: `${top}/${relative(dir, f)}`, size: data.length, mode: 0o644 },
          data,
          (e) => (e ? reject(e) : resolve()),
        ),
      );
    }
    pack.finalize();
  })();
  await Promise.all([feed, pipeline(pack, createGzip(), createWriteStream(out))]);
}
