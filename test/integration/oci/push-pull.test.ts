import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import {
  MediaType,
  RegistryClient,
  appendLayer,
  extractFiles,
  imageExists,
  isOciError,
  parsePlatform,
  parseReference,
  resolveImage,
  sha256Digest,
} from '../../../src/oci/index.js';
import { pushTestImage, testRegistry } from '../../support/registry.js';
import { recordingProxy } from './proxy.js';

const reg = await testRegistry();
const client = new RegistryClient({ registry: reg.host, tls: reg.tls });
after(() => client.close());

function skopeo(...args: string[]): string {
  return execFileSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8' });
}

describe('blobs and manifests against docker-registry', () => {
  it('uploads a blob monolithically and reads it back verified', async () => {
    const data = Buffer.from('hello registry');
    const up = await client.uploadBlob('rt/blob', data);
    assert.deepEqual(up, { digest: sha256Digest(data), size: data.length, uploaded: true });
    assert.equal((await client.getBlob('rt/blob', up.digest)).toString(), 'hello registry');
    // A second upload of the same content is skipped.
    assert.equal((await client.uploadBlob('rt/blob', data)).uploaded, false);
  });

  it('uploads in PATCH chunks of the given size', async () => {
    const proxy = await recordingProxy(reg.url);
    const c = new RegistryClient({ registry: proxy.host, tls: { insecure: true } });
    const data = Buffer.alloc(10_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
    const up = await c.uploadBlob('rt/chunked', data, { chunkSize: 3000 });
    c.close();
    const patches = proxy.log.filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, 4);
    assert.ok(patches.every((p) => p.status === 202));
    const puts = proxy.log.filter((r) => r.method === 'PUT');
    assert.equal(puts.length, 1);
    assert.match(puts[0]!.path, new RegExp(`digest=${encodeURIComponent(up.digest)}`));
    assert.deepEqual(await client.getBlob('rt/chunked', up.digest), data);
  });

  it('pushes an image that skopeo reads and copies byte for byte', async () => {
    const { digest } = await pushTestImage(client, 'rt/image', 'v1', {
      layers: [[{ path: 'etc/os-release', data: Buffer.from('ID=test\n') }]],
    });
    const raw = skopeo(
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${reg.host}/rt/image:v1`,
    );
    assert.equal(sha256Digest(Buffer.from(raw)), digest);
    const dir = mkdtempSync(join(tmpdir(), 'hwe-skopeo-'));
    try {
      // skopeo verifies every blob's digest while copying.
      skopeo('copy', '--src-tls-verify=false', `docker://${reg.host}/rt/image:v1`, `oci:${dir}:x`);
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
        manifests: { digest: string }[];
      };
      assert.equal(index.manifests[0]!.digest, digest);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads an image pushed by skopeo (Docker schema 2)', async () => {
    await pushTestImage(client, 'rt/src', 'v1', {
      layers: [[{ path: 'a', data: Buffer.from('A') }]],
    });
    skopeo(
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--format=v2s2',
      `docker://${reg.host}/rt/src:v1`,
      `docker://${reg.host}/rt/docker:v1`,
    );
    const img = await resolveImage(client, parseReference(`${reg.host}/rt/docker:v1`));
    assert.equal(img.mediaType, MediaType.DockerManifest);
    const files = await extractFiles(client, img, ['a']);
    assert.equal(files.get('a')?.data?.toString(), 'A');
  });

  it('answers whether an image exists: by tag, by digest, missing tag, missing repository', async () => {
    const { digest } = await pushTestImage(client, 'rt/exists', 'v1', { layers: [] });
    const byTag = await imageExists(client, parseReference(`${reg.host}/rt/exists:v1`));
    assert.deepEqual(byTag, { state: 'Exists', digest, mediaType: MediaType.OciManifest });
    const byDigest = await imageExists(client, parseReference(`${reg.host}/rt/exists@${digest}`));
    assert.equal(byDigest.state, 'Exists');
    for (const ref of [`${reg.host}/rt/exists:v2`, `${reg.host}/rt/nothing:v1`]) {
      const r = await imageExists(client, parseReference(ref));
      assert.equal(r.state, 'NotFound', ref);
    }
  });
});

describe('image indexes', () => {
  it('picks the manifest of the wanted platform and names the offered ones otherwise', async () => {
    const amd = await pushTestImage(client, 'rt/multi', 'amd64', {
      layers: [[{ path: 'arch', data: Buffer.from('amd64') }]],
      platform: { os: 'linux', architecture: 'amd64' },
    });
    const arm = await pushTestImage(client, 'rt/multi', 'arm64', {
      layers: [[{ path: 'arch', data: Buffer.from('arm64') }]],
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [amd.descriptor, arm.descriptor],
      }),
    );
    const indexDigest = await client.putManifest('rt/multi', 'v1', index, MediaType.OciIndex);
    const ref = parseReference(`${reg.host}/rt/multi:v1`);
    for (const [p, want] of [
      ['linux/arm64', arm.digest],
      ['linux/amd64', amd.digest],
    ] as const) {
      const img = await resolveImage(client, ref, { platform: parsePlatform(p) });
      assert.equal(img.digest, want);
      assert.equal(img.indexDigest, indexDigest);
      const f = await extractFiles(client, img, ['arch']);
      assert.equal(f.get('arch')?.data?.toString(), p.split('/')[1]);
    }
    await assert.rejects(
      resolveImage(client, ref, { platform: parsePlatform('linux/s390x') }),
      (e) =>
        isOciError(e, 'NoMatchingPlatform') &&
        /no image for linux\/s390x; it offers linux\/amd64, linux\/arm64/.test(e.message),
    );
  });
});

async function tarOf(
  entries: {
    name: string;
    type?: 'file' | 'link' | 'symlink' | 'directory';
    data?: string;
    linkname?: string;
  }[],
): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    pack.entry(
      { name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}) },
      Buffer.from(e.data ?? ''),
    );
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

describe('extracting files', () => {
  it('reads layers top-down with whiteouts, opaque directories and hard links', async () => {
    const base = await tarOf([
      { name: 'opt/', type: 'directory' },
      { name: 'opt/keep', data: 'keep' },
      { name: 'opt/gone', data: 'gone' },
      { name: 'opt/old/', type: 'directory' },
      { name: 'opt/old/a', data: 'old-a' },
      { name: 'opt/changed', data: 'v1' },
      { name: 'opt/dir/', type: 'directory' },
      { name: 'opt/dir/x', data: 'x' },
    ]);
    const top = await tarOf([
      { name: 'opt/.wh.gone' },
      { name: 'opt/old/.wh..wh..opq' },
      { name: 'opt/old/b', data: 'new-b' },
      { name: 'opt/changed', data: 'v2' },
      { name: 'opt/dir', data: 'now a file' },
      { name: 'opt/real.ko', data: 'module' },
      { name: 'opt/hard.ko', type: 'link', linkname: 'opt/real.ko' },
      { name: 'opt/soft.ko', type: 'symlink', linkname: 'real.ko' },
    ]);
    await pushTestImage(client, 'rt/layers', 'v1', { layers: [base, top] });
    const img = await resolveImage(client, parseReference(`${reg.host}/rt/layers:v1`));
    const files = await extractFiles(client, img, (p) => p.startsWith('opt/') && !p.endsWith('/'));
    const view = Object.fromEntries(
      [...files]
        .filter(([, e]) => e.type !== 'directory')
        .map(([p, e]) => [p, e.data?.toString() ?? `-> ${e.linkname}`]),
    );
    assert.deepEqual(view, {
      'opt/keep': 'keep',
      'opt/old/b': 'new-b',
      'opt/changed': 'v2',
      'opt/dir': 'now a file',
      'opt/real.ko': 'module',
      'opt/hard.ko': 'module',
      'opt/soft.ko': '-> real.ko',
    });
    // A hard link whose target was not asked for is resolved from the link's layer.
    const link = await extractFiles(client, img, ['opt/hard.ko']);
    assert.deepEqual([...link.keys()], ['opt/hard.ko']);
    assert.equal(link.get('opt/hard.ko')?.data?.toString(), 'module');
  });

  it('stops reading lower layers once the exact paths asked for are settled', async () => {
    const proxy = await recordingProxy(reg.url);
    const c = new RegistryClient({ registry: proxy.host, tls: { insecure: true } });
    const { digest } = await pushTestImage(client, 'rt/early', 'v1', {
      layers: [
        [{ path: 'big', data: Buffer.alloc(1000, 1) }],
        [{ path: 'release-manifests/image-references', data: Buffer.from('x') }],
      ],
    });
    const img = await resolveImage(c, parseReference(`${proxy.host}/rt/early@${digest}`));
    const f = await extractFiles(c, img, ['release-manifests/image-references']);
    c.close();
    assert.equal(f.get('release-manifests/image-references')?.data?.toString(), 'x');
    const blobGets = proxy.log.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'));
    // The config and the top layer; never the bottom layer.
    assert.equal(blobGets.length, 2);
    assert.ok(!blobGets.some((r) => r.path.endsWith(img.manifest.layers[0]!.digest)));
  });
});

describe('appending a layer and pushing', () => {
  const ko = (s: string) => Buffer.from(`\x7fELF module ${s}`);

  it('replaces files in a new top layer, mounting the old layers within the registry', async () => {
    await pushTestImage(client, 'kmm/unsigned', 'v1', {
      docker: true,
      layers: [
        [{ path: 'bin/cp', data: Buffer.from('cp') }],
        [
          { path: 'opt/lib/modules/6.1.0/a.ko', data: ko('a unsigned') },
          { path: 'opt/lib/modules/6.1.0/b.ko', data: ko('b unsigned') },
        ],
      ],
      config: { history: [{ created_by: 'base' }, { created_by: 'modules' }] },
    });
    const proxy = await recordingProxy(reg.url);
    const c = new RegistryClient({ registry: proxy.host, tls: { insecure: true } });
    const source = parseReference(`${proxy.host}/kmm/unsigned:v1`);
    const target = parseReference(`${proxy.host}/kmm/signed:v1`);
    const res = await appendLayer({
      source: { client: c, ref: source },
      target: { client: c, ref: target },
      files: [{ path: '/opt/lib/modules/6.1.0/a.ko', data: ko('a signed') }],
      createdBy: 'hwe kmm sign',
      now: () => new Date('2026-01-02T03:04:05Z'),
    });
    c.close();
    assert.deepEqual(Object.values(res.blobs), ['mounted', 'mounted']);
    assert.ok(
      proxy.log.some((r) => r.method === 'POST' && r.path.includes('mount=') && r.status === 201),
    );
    // Old layers are never downloaded or uploaded again.
    const layerGets = proxy.log.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'));
    assert.equal(layerGets.length, 1, 'only the config is read');

    const img = await resolveImage(client, parseReference(`${reg.host}/kmm/signed:v1`));
    assert.equal(img.digest, res.digest);
    assert.equal(img.mediaType, MediaType.DockerManifest);
    assert.equal(img.manifest.layers.length, 3);
    assert.equal(img.manifest.layers[2]!.mediaType, MediaType.DockerLayerGzip);
    const top = await client.getBlob('kmm/signed', img.manifest.layers[2]!.digest);
    assert.equal(img.config.rootfs.diff_ids.length, 3);
    assert.equal(img.config.rootfs.diff_ids[2], sha256Digest(gunzipSync(top)));
    assert.deepEqual(
      img.config.history?.map((h) => h.created_by),
      ['base', 'modules', 'hwe kmm sign'],
    );
    assert.equal(img.config.created, '2026-01-02T03:04:05.000Z');

    const files = await extractFiles(client, img, (p) => p.endsWith('.ko'));
    assert.equal(
      files.get('opt/lib/modules/6.1.0/a.ko')?.data?.toString(),
      ko('a signed').toString(),
    );
    assert.equal(
      files.get('opt/lib/modules/6.1.0/b.ko')?.data?.toString(),
      ko('b unsigned').toString(),
    );
    // The source image is untouched.
    const before = await extractFiles(
      client,
      await resolveImage(client, parseReference(`${reg.host}/kmm/unsigned:v1`)),
      ['opt/lib/modules/6.1.0/a.ko'],
    );
    assert.equal(
      before.get('opt/lib/modules/6.1.0/a.ko')?.data?.toString(),
      ko('a unsigned').toString(),
    );
  });

  it('copies layers to another registry and keeps OCI media types', async () => {
    const other = await testRegistry();
    const otherClient = new RegistryClient({ registry: other.host, tls: other.tls });
    after(() => otherClient.close());
    await pushTestImage(client, 'kmm/oci-src', 'v1', {
      layers: [[{ path: 'opt/m.ko', data: ko('m') }]],
    });
    const res = await appendLayer({
      source: { client, ref: parseReference(`${reg.host}/kmm/oci-src:v1`) },
      target: { client: otherClient, ref: parseReference(`${other.host}/mirror/m:signed`) },
      files: [{ path: 'opt/m.ko', data: ko('m signed') }],
      chunkSize: 64,
    });
    assert.deepEqual(Object.values(res.blobs), ['copied']);
    const img = await resolveImage(otherClient, parseReference(`${other.host}/mirror/m:signed`));
    assert.equal(img.mediaType, MediaType.OciManifest);
    assert.equal(img.manifest.layers[1]!.mediaType, MediaType.OciLayerGzip);
    // Without history in the source, earlier layers get blank entries so history lines up.
    assert.equal(img.config.history?.length, 2);
    const f = await extractFiles(otherClient, img, ['opt/m.ko']);
    assert.equal(f.get('opt/m.ko')?.data?.toString(), ko('m signed').toString());
    // skopeo agrees that the pushed image is whole.
    skopeo('inspect', '--tls-verify=false', `docker://${other.host}/mirror/m:signed`);
  });
});
