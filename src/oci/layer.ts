import { Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { sha256Digest } from './digest.js';
import { OciError } from './errors.js';

/** A file to put into a layer. */
export interface LayerFile {
  /** Path inside the image; leading `/` or `./` is dropped. */
  path: string;
  data: Buffer;
  /** Permission bits [0o644]. */
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface BuiltLayer {
  /** The gzip-compressed tar: the blob that is pushed. */
  blob: Buffer;
  /** sha256 of `blob`, the layer's digest in the manifest. */
  digest: string;
  /** sha256 of the uncompressed tar, the layer's entry in the config's rootfs.diff_ids. */
  diffId: string;
}

/** One entry of a layer as read back. */
export interface LayerEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'other';
  mode: number;
  size: number;
  /** Target of a symlink, or the path a hard link refers to. */
  linkname?: string;
  /** Contents of a regular file, when asked for. */
  data?: Buffer;
}

/**
 * Cleans a path inside an image: no leading `/` or `./`, no empty or `.` components; `..` is
 * refused rather than resolved, since a layer must not write outside the root.
 */
export function cleanImagePath(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..')) {
    throw new OciError('InvalidContent', `path "${p}" leaves the image root ("..")`);
  }
  return parts.join('/');
}

/**
 * Builds a gzip-compressed tar layer holding `files` and the directories above them.
 * Timestamps are fixed (`mtime`, default the epoch) so the same files give the same digest.
 */
export async function buildLayer(
  files: LayerFile[],
  opts: { mtime?: Date } = {},
): Promise<BuiltLayer> {
  const mtime = opts.mtime ?? new Date(0);
  const cleaned = files.map((f) => ({ ...f, path: cleanImagePath(f.path) }));
  const seen = new Set<string>();
  for (const f of cleaned) {
    if (f.path === '') throw new OciError('InvalidContent', 'a layer file needs a path');
    if (seen.has(f.path)) throw new OciError('InvalidContent', `path "${f.path}" given twice`);
    seen.add(f.path);
  }
  const dirs = new Set<string>();
  for (const f of cleaned) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of dirs) {
    if (seen.has(d)) throw new OciError('InvalidContent', `"${d}" is both a file and a directory`);
  }
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  const add = (h: tar.Header | (Partial<tar.Header> & { name: string }), data?: Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry(h, data ?? Buffer.alloc(0), (e) => (e ? reject(e) : resolve())),
    );
  for (const d of [...dirs].sort()) {
    await add({ name: `${d}/`, type: 'directory', mode: 0o755, mtime, uid: 0, gid: 0 });
  }
  for (const f of [...cleaned].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    await add(
      {
        name: f.path,
        type: 'file',
        mode: f.mode ?? 0o644,
        mtime,
        uid: f.uid ?? 0,
        gid: f.gid ?? 0,
        size: f.data.length,
      },
      f.data,
    );
  }
  pack.finalize();
  await done;
  const raw = Buffer.concat(chunks);
  const blob = gzipSync(raw);
  return { blob, digest: sha256Digest(blob), diffId: sha256Digest(raw) };
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

function startsWith(b: Buffer, magic: number[]): boolean {
  return magic.every((m, i) => b[i] === m);
}

/**
 * The entries of a layer (plain tar or gzip; the format is told by the content, not the media
 * type, which registries get wrong). `wantData(path)` says which regular files to read into
 * memory. Errors of `source`, such as a digest mismatch at its end, reject the iteration.
 */
export async function* readLayer(
  source: Readable,
  wantData: (path: string) => boolean = () => false,
): AsyncGenerator<LayerEntry> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 4) {
    const n = await it.next();
    if (n.done) {
      ended = true;
      break;
    }
    head = Buffer.concat([head, Buffer.from(n.value)]);
  }
  if (startsWith(head, ZSTD_MAGIC)) {
    source.destroy();
    throw new OciError('InvalidContent', 'zstd-compressed layers are not supported; use gzip');
  }
  const rest = Readable.from(
    (async function* () {
      if (head.length) yield head;
      if (ended) return;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value;
      }
    })(),
  );
  const extract = tar.extract();
  const fail = (err: Error) => extract.destroy(err instanceof OciError ? err : badLayer(err));
  rest.on('error', fail);
  if (startsWith(head, GZIP_MAGIC)) {
    const gunzip = createGunzip();
    gunzip.on('error', fail);
    rest.pipe(gunzip).pipe(extract);
  } else {
    rest.pipe(extract);
  }
  for await (const entry of extract) {
    const h = entry.header;
    const path = cleanImagePath(h.name);
    const type =
      h.type === 'file' || h.type === 'contiguous-file'
        ? 'file'
        : h.type === 'directory' || h.type === 'symlink' || h.type === 'link'
          ? h.type
          : 'other';
    const e: LayerEntry = { path, type, mode: h.mode ?? 0, size: h.size ?? 0 };
    if (h.linkname) e.linkname = type === 'link' ? cleanImagePath(h.linkname) : h.linkname;
    if (type === 'file' && wantData(path)) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      e.data = Buffer.concat(chunks);
    } else {
      entry.resume();
    }
    yield e;
  }
}

function badLayer(err: Error): OciError {
  return new OciError('InvalidContent', `layer is not a readable tar: ${err.message}`, {
    cause: err,
  });
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/**
 * Merges layers from the top down into the files a container would see, honouring
 * whiteouts: `dir/.wh.name` hides `dir/name` of lower layers, `dir/.wh..wh..opq` hides all
 * lower content of `dir`, and a non-directory hides what lower layers had beneath its path.
 * A whiteout acts on lower layers only, never on entries of its own layer.
 */
export class TopDownMerge {
  /** Paths already decided by an upper layer (present or deleted). */
  private readonly decided = new Set<string>();
  /** Paths whose whole subtree lower layers may not contribute to. */
  private readonly cut = new Set<string>();
  /** Dirs whose lower children are hidden (opaque), the dir itself stays. */
  private readonly opaque = new Set<string>();
  readonly files = new Map<string, LayerEntry & { layer: number }>();
  private layer = 0;
  private pending: { decided: string[]; cut: string[]; opaque: string[] } = {
    decided: [],
    cut: [],
    opaque: [],
  };

  /** Whether upper layers already decided `path` (present, deleted or hidden). */
  settled(path: string): boolean {
    return this.shadowed(path);
  }

  private shadowed(path: string): boolean {
    if (this.decided.has(path) || this.cut.has(path)) return true;
    for (let p = parentOf(path); ; p = parentOf(p)) {
      if (this.cut.has(p) || this.opaque.has(p)) return true;
      if (p === '') return false;
    }
  }

  /** Offers one entry of the current layer; returns whether it is visible in the result. */
  add(e: LayerEntry): boolean {
    const name = e.path.slice(e.path.lastIndexOf('/') + 1);
    const dir = parentOf(e.path);
    if (name === OPAQUE_WHITEOUT) {
      this.pending.opaque.push(dir);
      return false;
    }
    if (name.startsWith(WHITEOUT_PREFIX)) {
      const target = (dir ? dir + '/' : '') + name.slice(WHITEOUT_PREFIX.length);
      if (!this.shadowed(target)) this.pending.cut.push(target);
      return false;
    }
    if (this.shadowed(e.path)) return false;
    this.pending.decided.push(e.path);
    if (e.type !== 'directory') this.pending.cut.push(e.path);
    this.files.set(e.path, { ...e, layer: this.layer });
    return true;
  }

  /** Ends the current layer: its whiteouts now apply to the layers below. */
  endLayer(): void {
    for (const p of this.pending.decided) this.decided.add(p);
    for (const p of this.pending.cut) this.cut.add(p);
    for (const p of this.pending.opaque) this.opaque.add(p);
    this.pending = { decided: [], cut: [], opaque: [] };
    this.layer++;
  }
}
