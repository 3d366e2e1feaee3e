/**
 * A local OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on a free
 * 127.0.0.1 port, storing into a temporary directory, optionally behind htpasswd (Basic) or
 * token (Bearer) authentication and TLS. Nothing leaves 127.0.0.1.
 *
 *   const reg = await testRegistry({ auth: 'htpasswd', users: [{ username: 'u', password: 'p' }] });
 *   // push to `${reg.host}/app:v1` with RegistryClient({ registry: reg.host, tls: reg.tls })
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  type Descriptor,
  type LayerFile,
  MediaType,
  type RegistryClient,
  buildLayer,
  sha256Digest,
} from '../../src/oci/index.js';
import { freePort } from '../../src/cluster/processes.js';

export interface RegistryUser {
  username: string;
  password: string;
  /** Token auth only: grant `pull` and never `push`. */
  pullOnly?: boolean;
}

export interface RegistryOptions {
  /** `htpasswd`: Basic auth; `token`: Bearer tokens from a token service started alongside. */
  auth?: 'htpasswd' | 'token';
  users?: RegistryUser[];
  /** Serve HTTPS with a self-signed certificate for 127.0.0.1 (see `caPem`). */
  tls?: boolean;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, the registry part of image references. */
  host: string;
  /** Base URL, `http://127.0.0.1:PORT` or https. */
  url: string;
  /** TLS options for RegistryClient: plain HTTP unless the registry serves TLS. */
  tls: { insecure?: boolean; ca?: string };
  /** The certificate of a TLS registry (PEM). */
  caPem?: string;
  dir: string;
  users: RegistryUser[];
  /** Token requests the token service answered, for tests of token handling. */
  tokenRequests: { user: string | undefined; scopes: string[] }[];
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

function selfSigned(dir: string, name: string, cn: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/** A token service as distribution's `auth.token` expects it: RS256 JWTs with an x5c chain. */
async function startTokenService(
  dir: string,
  users: RegistryUser[],
  service: string,
  issuer: string,
  log: TestRegistry['tokenRequests'],
): Promise<{ server: Server; realm: string; certFile: string }> {
  const { cert, key } = selfSigned(dir, 'token', 'hwe-test-token-issuer');
  const der = new X509Certificate(readFileSync(cert)).raw;
  const keyPem = readFileSync(key);
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const authz = req.headers.authorization;
    let user: RegistryUser | undefined;
    if (authz?.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(authz.slice(6), 'base64').toString().split(':');
      user = users.find((x) => x.username === u && x.password === p.join(':'));
      if (!user) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"details":"invalid username or password"}');
        return;
      }
    }
    const scopes = url.searchParams.getAll('scope');
    log.push({ user: user?.username, scopes });
    // Anonymous callers get a token with no access, as public registries do for private repos.
    const access = user
      ? scopes.flatMap((s) => {
          const [type, name, actions] = s.split(':');
          if (type !== 'repository' || !name || !actions) return [];
          const granted = actions
            .split(',')
            .filter((a) => a === 'pull' || (a === 'push' && !user.pullOnly));
          return [{ type, name, actions: granted }];
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const head = { alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: user?.username ?? '',
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const signing = `${b64url(JSON.stringify(head))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign('RSA-SHA256').update(signing).sign(keyPem);
    const token = `${signing}.${b64url(sig)}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { server, realm: `http://127.0.0.1:${port}/token`, certFile: cert };
}

function probe(url: string, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const fn = url.startsWith('https:') ? httpsRequest : httpRequest;
    const r = fn(`${url}/v2/`, { method: 'GET', ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 401);
    });
    r.on('error', () => resolve(false));
    r.setTimeout(2000, () => r.destroy());
    r.end();
  });
}

/** Starts a registry; call `stop()` when done (or use testRegistry(), which does). */
export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'hwe-registry-'));
  const users = opts.users ?? [];
  const tokenRequests: TestRegistry['tokenRequests'] = [];
  let tokenServer: Server | undefined;
  const lines: string[] = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
  ];
  if (opts.auth === 'htpasswd') {
    const file = join(dir, 'htpasswd');
    const entries = users.map((u) =>
      execFileSync('htpasswd', ['-Bbn', u.username, u.password]).toString().trim(),
    );
    writeFileSync(file, entries.join('\n') + '\n');
    lines.push('auth:', '  htpasswd:', '    realm: hwe-test', `    path: ${file}`);
  } else if (opts.auth === 'token') {
    const service = 'hwe-test-registry';
    const issuer = 'hwe-test-issuer';
    const t = await startTokenService(dir, users, service, issuer, tokenRequests);
    tokenServer = t.server;
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${t.realm}`,
      `    service: ${service}`,
      `    issuer: ${issuer}`,
      `    rootcertbundle: ${t.certFile}`,
    );
  }
  let caPem: string | undefined;
  let tlsLines: string[] = [];
  if (opts.tls) {
    const { cert, key } = selfSigned(dir, 'registry', '127.0.0.1');
    caPem = readFileSync(cert, 'utf8');
    tlsLines = ['  tls:', `    certificate: ${cert}`, `    key: ${key}`];
  }
  const scheme = opts.tls ? 'https' : 'http';
  const logFile = join(dir, 'registry.log');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const cfg = join(dir, 'config.yml');
    writeFileSync(
      cfg,
      [
        ...lines,
        'http:',
        `  addr: 127.0.0.1:${port}`,
        `  secret: ${randomBytes(16).toString('hex')}`,
        ...tlsLines,
      ].join('\n') + '\n',
    );
    const child = spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => out.push(d));
    let exited = false;
    child.on('exit', () => {
      exited = true;
      running.delete(child);
    });
    child.on('error', () => (exited = true));
    const url = `${scheme}://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    let up = false;
    while (!exited && Date.now() < deadline) {
      if (await probe(url, caPem)) {
        up = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (up) {
      const stop = async () => {
        if (!exited) {
          const gone = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await gone;
        }
        writeFileSync(logFile, Buffer.concat(out));
        if (tokenServer) await new Promise((r) => tokenServer.close(r));
        rmSync(dir, { recursive: true, force: true });
      };
      return {
        host: `127.0.0.1:${port}`,
        url,
        tls: opts.tls ? { ca: caPem! } : { insecure: true },
        ...(caPem ? { caPem } : {}),
        dir,
        users,
        tokenRequests,
        stop,
      };
    }
    child.kill('SIGKILL');
    const log = Buffer.concat(out).toString();
    // Another process may have taken the port between probing and binding: try another.
    if (attempt < 3 && /address already in use/.test(log)) continue;
    if (tokenServer) tokenServer.close();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `docker-registry did not start (is package docker-registry installed?):\n${log}`,
    );
  }
}

/**
 * Starts a registry stopped when the enclosing test ends: call it at the top level of a test
 * file (`const reg = await testRegistry()`) for one registry per file, or inside a test for
 * that test alone. (Inside a `before` hook the registry would stop when the hook ends.)
 */
export async function testRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const reg = await startRegistry(opts);
  after(() => reg.stop());
  return reg;
}

export interface TestImageOptions {
  /** Layers bottom-up: files for buildLayer, or a ready tar / tar.gz blob. */
  layers: (LayerFile[] | Buffer)[];
  platform?: { os: string; architecture: string; variant?: string };
  /** Docker schema 2 media types instead of OCI. */
  docker?: boolean;
  /** Extra fields for the config (e.g. history). */
  config?: Record<string, unknown>;
}

/** Builds an image from files and pushes it as `repo:tag`; returns the manifest's digest. */
export async function pushTestImage(
  client: RegistryClient,
  repo: string,
  tag: string,
  opts: TestImageOptions,
): Promise<{ digest: string; descriptor: Descriptor }> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const l of opts.layers) {
    let blob: Buffer;
    let diffId: string;
    if (Buffer.isBuffer(l)) {
      blob = l;
      diffId = sha256Digest(l[0] === 0x1f && l[1] === 0x8b ? gunzipSync(l) : l);
    } else {
      ({ blob, diffId } = await buildLayer(l));
    }
    await client.uploadBlob(repo, blob);
    diffIds.push(diffId);
    layers.push({
      mediaType: opts.docker ? MediaType.DockerLayerGzip : MediaType.OciLayerGzip,
      digest: sha256Digest(blob),
      size: blob.length,
    });
  }
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const config = Buffer.from(
    JSON.stringify({
      ...platform,
      config: {},
      rootfs: { type: 'layers', diff_ids: diffIds },
      ...opts.config,
    }),
  );
  const c = await client.uploadBlob(repo, config);
  const mediaType = opts.docker ? MediaType.DockerManifest : MediaType.OciManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: opts.docker ? MediaType.DockerConfig : MediaType.OciConfig,
        digest: c.digest,
        size: c.size,
      },
      layers,
    }),
  );
  const digest = await client.putManifest(repo, tag, manifest, mediaType);
  return { digest, descriptor: { mediaType, digest, size: manifest.length, platform } };
}
