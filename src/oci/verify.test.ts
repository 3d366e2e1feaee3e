/**
 * The client against registries that misbehave: a tiny node:http server on 127.0.0.1 serves
 * content that does not match its digests, redirects blobs to another host, and so on.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { RegistryClient } from './client.js';
import { sha256Digest } from './digest.js';
import { isOciError } from './errors.js';
import { extractFiles, resolveImage } from './image.js';
import { buildLayer } from './layer.js';
import { parseReference } from './reference.js';
import { MediaType } from './types.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(host: string, auth?: { username: string; password: string }): RegistryClient {
  const c = new RegistryClient({
    registry: host,
    tls: { insecure: true },
    ...(auth ? { auth } : {}),
  });
  after(() => c.close());
  return c;
}

const layer = await buildLayer([{ path: 'etc/motd', data: Buffer.from('genuine') }]);
const forged = await buildLayer([{ path: 'etc/motd', data: Buffer.from('forged!') }]);
const config = Buffer.from(
  JSON.stringify({
    os: 'linux',
    architecture: 'amd64',
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
  }),
);
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: sha256Digest(config), size: config.length },
    layers: [{ mediaType: MediaType.OciLayerGzip, digest: layer.digest, size: layer.blob.length }],
  }),
);
const manifestDigest = sha256Digest(manifest);

/** A registry holding one image; `lie` picks what it alters. */
function registry(lie: { blob?: boolean; manifest?: boolean; header?: boolean }): Handler {
  return (req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/') return res.end('{}');
    if (url.includes('/manifests/')) {
      const body = lie.manifest
        ? Buffer.from(manifest.toString().replace('"schemaVersion":2', '"schemaVersion": 2'))
        : manifest;
      res.writeHead(200, {
        'content-type': MediaType.OciManifest,
        'docker-content-digest': lie.header ? sha256Digest(Buffer.from('other')) : manifestDigest,
      });
      return res.end(body);
    }
    if (url.endsWith(sha256Digest(config))) return res.end(config);
    if (url.endsWith(layer.digest)) return res.end(lie.blob ? forged.blob : layer.blob);
    res.writeHead(404).end();
  };
}

describe('content that does not match its digest', () => {
  it('refuses a blob whose bytes differ, naming the digest asked for', async () => {
    const c = client(await serve(registry({ blob: true })));
    await assert.rejects(
      c.getBlob('app', layer.digest),
      (e) =>
        isOciError(e, 'DigestMismatch') &&
        e.message.includes(layer.digest) &&
        e.message.includes(forged.digest),
    );
  });

  it('refuses files extracted from a forged layer', async () => {
    const host = await serve(registry({ blob: true }));
    const c = client(host);
    const img = await resolveImage(c, parseReference(`${host}/app:v1`));
    await assert.rejects(extractFiles(c, img, ['etc/motd']), (e) =>
      isOciError(e, 'DigestMismatch'),
    );
  });

  it('accepts the same image from an honest registry', async () => {
    const host = await serve(registry({}));
    const c = client(host);
    const img = await resolveImage(c, parseReference(`${host}/app:v1`));
    assert.equal(img.digest, manifestDigest);
    const f = await extractFiles(c, img, ['etc/motd']);
    assert.equal(f.get('etc/motd')?.data?.toString(), 'genuine');
  });

  it('refuses a manifest fetched by digest whose bytes differ', async () => {
    const c = client(await serve(registry({ manifest: true })));
    await assert.rejects(
      c.getManifest('app', manifestDigest),
      (e) => isOciError(e, 'DigestMismatch') && e.message.includes(manifestDigest),
    );
  });

  it('refuses a manifest whose announced Docker-Content-Digest differs from its bytes', async () => {
    const c = client(await serve(registry({ header: true })));
    await assert.rejects(c.getManifest('app', 'v1'), (e) => isOciError(e, 'DigestMismatch'));
  });
});

describe('redirects', () => {
  it('follows a blob redirect to storage without sending the registry credentials there', async () => {
    const seen: (string | undefined)[] = [];
    const storage = await serve((req, res) => {
      seen.push(req.headers.authorization);
      res.end(layer.blob);
    });
    const host = await serve((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' });
        return res.end();
      }
      res.writeHead(307, { location: `http://${storage}/bucket/blob?sig=1` });
      res.end();
    });
    const data = await client(host, { username: 'u', password: 'p' }).getBlob('app', layer.digest);
    assert.deepEqual(data, layer.blob);
    assert.deepEqual(seen, [undefined]);
  });
});

describe('answers that are not a registry', () => {
  it('reports a server without /v2/ as a Registry error', async () => {
    const host = await serve((_req, res) => res.writeHead(404).end('no'));
    await assert.rejects(
      client(host).ping(),
      (e) => isOciError(e, 'Registry') && /not an OCI registry/.test(e.message),
    );
  });
  it('includes the registry error code in messages', async () => {
    const host = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'disk full' }] }));
    });
    await assert.rejects(
      client(host).getManifest('app', 'v1'),
      (e) => isOciError(e, 'Registry') && e.status === 500 && /UNKNOWN: disk full/.test(e.message),
    );
  });
});
