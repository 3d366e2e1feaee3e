import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { sha256Digest } from './digest.js';
import { isOciError } from './errors.js';
import { type LayerEntry, TopDownMerge, buildLayer, cleanImagePath, readLayer } from './layer.js';

async function entries(blob: Buffer, want = (_p: string) => true): Promise<LayerEntry[]> {
  const out: LayerEntry[] = [];
  for await (const e of readLayer(Readable.from([blob]), want)) out.push(e);
  return out;
}

describe('buildLayer', () => {
  it('writes the files and their parent directories, and reads back the same', async () => {
    const l = await buildLayer([
      { path: '/opt/lib/modules/6.1.0/extra/a.ko', data: Buffer.from('A'), mode: 0o600 },
      { path: './etc/conf', data: Buffer.from('C') },
    ]);
    assert.equal(l.digest, sha256Digest(l.blob));
    assert.equal(l.diffId, sha256Digest(gunzipSync(l.blob)));
    const got = (await entries(l.blob)).map((e) => [e.path, e.type, e.mode, e.data?.toString()]);
    assert.deepEqual(got, [
      ['etc', 'directory', 0o755, undefined],
      ['opt', 'directory', 0o755, undefined],
      ['opt/lib', 'directory', 0o755, undefined],
      ['opt/lib/modules', 'directory', 0o755, undefined],
      ['opt/lib/modules/6.1.0', 'directory', 0o755, undefined],
      ['opt/lib/modules/6.1.0/extra', 'directory', 0o755, undefined],
      ['etc/conf', 'file', 0o644, 'C'],
      ['opt/lib/modules/6.1.0/extra/a.ko', 'file', 0o600, 'A'],
    ]);
  });
  it('is reproducible: the same files give the same digest', async () => {
    const files = [{ path: 'a', data: Buffer.from('x') }];
    assert.equal((await buildLayer(files)).digest, (await buildLayer(files)).digest);
  });
  it('refuses paths outside the root, duplicates and file/dir clashes', async () => {
    await assert.rejects(
      buildLayer([{ path: '../x', data: Buffer.alloc(0) }]),
      /leaves the image root/,
    );
    await assert.rejects(
      buildLayer([
        { path: 'a', data: Buffer.alloc(0) },
        { path: '/a', data: Buffer.alloc(0) },
      ]),
      /given twice/,
    );
    await assert.rejects(
      buildLayer([
        { path: 'a', data: Buffer.alloc(0) },
        { path: 'a/b', data: Buffer.alloc(0) },
      ]),
      /both a file and a directory/,
    );
  });
});

describe('readLayer', () => {
  it('reads uncompressed tar as well as gzip, and only the data asked for', async () => {
    const l = await buildLayer([
      { path: 'a', data: Buffer.from('1') },
      { path: 'b', data: Buffer.from('2') },
    ]);
    const got = await entries(gunzipSync(l.blob), (p) => p === 'b');
    assert.deepEqual(
      got.map((e) => [e.path, e.data?.toString()]),
      [
        ['a', undefined],
        ['b', '2'],
      ],
    );
  });
  it('refuses zstd layers with a clear message', async () => {
    const zstd = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
    await assert.rejects(
      entries(zstd),
      (e) => isOciError(e, 'InvalidContent') && /zstd/.test(e.message),
    );
  });
  it('fails on a broken gzip stream', async () => {
    const l = await buildLayer([{ path: 'a', data: Buffer.alloc(5000, 1) }]);
    const broken = Buffer.concat([l.blob.subarray(0, 20), Buffer.alloc(50, 7)]);
    await assert.rejects(entries(broken), (e) => isOciError(e, 'InvalidContent'));
  });
  it('passes on an error of its source (a digest mismatch found at the end)', async () => {
    const l = await buildLayer([{ path: 'a', data: Buffer.from('x') }]);
    const src = new Readable({
      read() {
        this.push(l.blob);
        this.destroy(new Error('digest mismatch at end'));
      },
    });
    await assert.rejects(
      (async () => {
        for await (const _ of readLayer(src)) void _;
      })(),
      /digest mismatch at end/,
    );
  });
  it('reports symlinks and hard links with their targets', async () => {
    const pack = tar.pack();
    pack.entry({ name: 'bin/real', type: 'file', size: 1 }, Buffer.from('R'));
    pack.entry({ name: 'bin/soft', type: 'symlink', linkname: 'real' });
    pack.entry({ name: 'bin/hard', type: 'link', linkname: './bin/real' });
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const got = await entries(Buffer.concat(chunks));
    assert.deepEqual(
      got.map((e) => [e.path, e.type, e.linkname]),
      [
        ['bin/real', 'file', undefined],
        ['bin/soft', 'symlink', 'real'],
        ['bin/hard', 'link', 'bin/real'],
      ],
    );
  });
});

describe('cleanImagePath', () => {
  const cases: [string, string][] = [
    ['/a/b', 'a/b'],
    ['./a//b/', 'a/b'],
    ['a/./b', 'a/b'],
    ['/', ''],
  ];
  for (const [i, o] of cases) it(`${i} → ${o}`, () => assert.equal(cleanImagePath(i), o));
});

/** Layers top-down, each a list of `path` (file), `path/` (directory) entries. */
function merge(layersTopDown: string[][]): string[] {
  const m = new TopDownMerge();
  for (const layer of layersTopDown) {
    for (const p of layer) {
      const dir = p.endsWith('/');
      m.add({ path: p.replace(/\/$/, ''), type: dir ? 'directory' : 'file', mode: 0, size: 0 });
    }
    m.endLayer();
  }
  return [...m.files.keys()].sort();
}

describe('TopDownMerge (whiteouts)', () => {
  const cases: [string, string[][], string[]][] = [
    ['upper file wins, lower files stay', [['a'], ['a', 'b']], ['a', 'b']],
    ['whiteout hides a lower file', [['.wh.a'], ['a', 'b']], ['b']],
    ['whiteout hides a lower directory and its content', [['.wh.d'], ['d/', 'd/x', 'e']], ['e']],
    [
      'whiteout in a subdirectory',
      [['d/.wh.x'], ['d/', 'd/x', 'd/y']],
      ['d/', 'd/y'].map((p) => p.replace(/\/$/, '')),
    ],
    [
      'opaque directory hides lower content but keeps the directory',
      [
        ['d/', 'd/.wh..wh..opq', 'd/new'],
        ['d/', 'd/old', 'd/sub/x', 'e'],
      ],
      ['d', 'd/new', 'e'],
    ],
    ['a whiteout does not hide its own layer', [['.wh.a', 'a'], ['a']], ['a']],
    ['an opaque marker does not hide its own layer', [['d/.wh..wh..opq', 'd/x'], ['d/y']], ['d/x']],
    ['a file replaces a lower directory tree', [['d'], ['d/', 'd/x']], ['d']],
    [
      'a directory over a lower directory merges',
      [
        ['d/', 'd/x'],
        ['d/', 'd/y'],
      ],
      ['d', 'd/x', 'd/y'],
    ],
    ['a file deleted, then recreated above', [['a'], ['.wh.a'], ['a']], ['a']],
    ['whiteouts reach all lower layers', [['.wh.a'], ['b'], ['a']], ['b']],
  ];
  for (const [name, layers, expected] of cases) {
    it(name, () => assert.deepEqual(merge(layers), expected));
  }
  it('records which layer a file came from, counted from the top', () => {
    const m = new TopDownMerge();
    m.add({ path: 'a', type: 'file', mode: 0, size: 0 });
    m.endLayer();
    m.add({ path: 'b', type: 'file', mode: 0, size: 0 });
    m.endLayer();
    assert.equal(m.files.get('a')?.layer, 0);
    assert.equal(m.files.get('b')?.layer, 1);
    assert.equal(m.settled('a'), true);
    assert.equal(m.settled('c'), false);
  });
});
