import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { type DockerConfig, type RegistryAuth, credentialsFor } from './auth.js';
import { mismatch, sha256Digest, verifyDigest, verifyingStream } from './digest.js';
import { OciError } from './errors.js';
import { digestProblem, registryApiHost } from './reference.js';
import { type HttpResponse, type RegistryTLS, Transport, drain, readBody } from './transport.js';
import {
  type ImageIndex,
  type ImageManifest,
  MANIFEST_ACCEPT,
  MediaType,
  isIndexMediaType,
  isManifestMediaType,
} from './types.js';

export interface RegistryClientOptions {
  /** The registry as written in references: `quay.io`, `127.0.0.1:5000`, `docker.io`. */
  registry: string;
  tls?: RegistryTLS;
  /** Credentials for every repository of this registry; wins over `dockerConfig`. */
  auth?: RegistryAuth;
  /** Pull-secret contents; the entry for each repository is chosen as the kubelet does. */
  dockerConfig?: DockerConfig;
  /** Idle time before a request fails as Unreachable [30s]. */
  timeoutMs?: number;
}

export interface PingResult {
  /** `Docker-Distribution-API-Version`, when the registry sends it. */
  apiVersion: string | undefined;
  /** The authentication scheme the registry asks for (`Bearer`, `Basic`), if any. */
  authScheme: string | undefined;
}

export interface ManifestInfo {
  digest: string;
  mediaType: string;
  size: number;
}

export type ParsedManifest = ManifestInfo &
  ({ kind: 'index'; index: ImageIndex } | { kind: 'manifest'; manifest: ImageManifest });

export type FetchedManifest = ParsedManifest & { bytes: Buffer };

export interface BlobRef {
  digest: string;
  size: number;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

interface RequestSpec {
  method: string;
  path?: string;
  url?: URL;
  repo: string;
  push?: boolean;
  /** Further repositories to pull from in the same request (cross-repository mount). */
  pullFrom?: string[];
  headers?: OutgoingHttpHeaders;
  body?: Buffer | Readable;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_MANIFEST = 4 << 20;

/**
 * Token scopes with one entry per resource and its actions sorted: a registry may name the
 * actions in any order (distribution's challenges vary between `push,pull` and `pull,push`), and
 * asking for both spellings would ask for the same rights twice.
 */
export function mergeScopes(scopes: string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const s of scopes) {
    const i = s.lastIndexOf(':');
    if (i <= 0) {
      byResource.set(s, byResource.get(s) ?? new Set());
      continue;
    }
    const actions = byResource.get(s.slice(0, i)) ?? new Set<string>();
    for (const a of s.slice(i + 1).split(',')) if (a) actions.add(a);
    byResource.set(s.slice(0, i), actions);
  }
  return [...byResource].map(([r, a]) => (a.size ? `${r}:${[...a].sort().join(',')}` : r));
}

/** Parses `Bearer realm="…",service="…",scope="a b"` (quoted values may hold commas). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m[2]!); p; p = re.exec(m[2]!)) {
    params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * A client of the OCI distribution API for one registry. Authentication follows the registry's
 * challenge: Basic with the configured credentials, or Bearer tokens fetched from the realm the
 * registry names (anonymously when no credentials apply), cached per scope until they expire.
 */
export class RegistryClient {
  readonly registry: string;
  private readonly base: URL;
  private readonly transport: Transport;
  private readonly timeoutMs: number;
  private readonly opts: RegistryClientOptions;
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, { token: string; expires: number }>();

  constructor(opts: RegistryClientOptions) {
    this.opts = opts;
    this.registry = opts.registry;
    this.transport = new Transport(opts.tls);
    this.base = new URL(`${this.transport.scheme}://${registryApiHost(opts.registry)}/`);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  close(): void {
    this.transport.close();
  }

  private where(repo?: string): string {
    return repo ? `${this.registry}/${repo}` : `registry ${this.registry}`;
  }

  private credentials(repo: string): RegistryAuth | undefined {
    if (this.opts.auth) return this.opts.auth;
    return this.opts.dockerConfig
      ? credentialsFor(this.opts.dockerConfig, this.registry, repo)
      : undefined;
  }

  private scopes(spec: RequestSpec): string[] {
    const out = [`repository:${spec.repo}:${spec.push ? 'pull,push' : 'pull'}`];
    for (const r of spec.pullFrom ?? []) out.push(`repository:${r}:pull`);
    return out;
  }

  private authorization(repo: string, scopes: string[]): string | undefined {
    const c = this.challenge;
    if (!c) return undefined;
    const creds = this.credentials(repo);
    if (c.scheme === 'basic') {
      if (creds?.username === undefined) return undefined;
      const b = Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64');
      return `Basic ${b}`;
    }
    if (c.scheme === 'bearer') {
      if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
      const t = this.tokens.get(scopes.join(' '));
      if (t && t.expires > Date.now()) return `Bearer ${t.token}`;
    }
    return undefined;
  }

  /** Fetches a Bearer token for the scopes from the realm of the registry's challenge. */
  private async fetchToken(repo: string, scopes: string[]): Promise<void> {
    const c = this.challenge!;
    const realm = c.params.realm;
    if (!realm) {
      throw new OciError('Registry', `${this.where()} asked for a Bearer token but named no realm`);
    }
    let url: URL;
    try {
      url = new URL(realm, this.base);
    } catch {
      throw new OciError('Registry', `${this.where()} named an invalid token realm "${realm}"`);
    }
    const creds = this.credentials(repo);
    const wanted = mergeScopes([...(c.params.scope?.split(' ').filter(Boolean) ?? []), ...scopes]);
    const headers: OutgoingHttpHeaders = { accept: 'application/json' };
    let res: HttpResponse;
    if (creds?.identityToken) {
      // An identity token is an OAuth2 refresh token (docker login against some registries).
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'hwe',
        refresh_token: creds.identityToken,
        ...(c.params.service ? { service: c.params.service } : {}),
        scope: [...wanted].join(' '),
      });
      headers['content-type'] = 'application/x-www-form-urlencoded';
      res = await this.transport.send({
        method: 'POST',
        url,
        headers,
        body: Buffer.from(form.toString()),
        timeoutMs: this.timeoutMs,
      });
    } else {
      if (c.params.service) url.searchParams.set('service', c.params.service);
      for (const s of wanted) url.searchParams.append('scope', s);
      if (creds?.username !== undefined) {
        const b = Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64');
        headers.authorization = `Basic ${b}`;
      }
      res = await this.transport.send({ method: 'GET', url, headers, timeoutMs: this.timeoutMs });
    }
    const body = await readBody(res.body, 1 << 20);
    if (res.status === 401 || res.status === 403) {
      throw new OciError(
        'Unauthorized',
        `token service ${url.origin} refused ${
          creds?.username !== undefined
            ? `the credentials of user "${creds.username}"`
            : 'anonymous access'
        } for ${this.where(repo)} (HTTP ${res.status}); check ${this.transport.settings.credentials}`,
        { status: res.status },
      );
    }
    if (res.status !== 200) {
      throw new OciError('Registry', `token service ${url.origin} answered HTTP ${res.status}`, {
        status: res.status,
      });
    }
    let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch {
      throw new OciError('Registry', `token service ${url.origin} sent no JSON`);
    }
    const token = typeof doc.token === 'string' ? doc.token : doc.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new OciError('Registry', `token service ${url.origin} sent no token`);
    }
    // Refresh a little early; 60s is the specification's default lifetime.
    const life = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
    this.tokens.set(scopes.join(' '), {
      token,
      expires: Date.now() + Math.max(life - 10, 1) * 1000,
    });
  }

  /** Gets a token ahead of a request whose body cannot be sent twice. */
  private async prepareAuth(repo: string, scopes: string[]): Promise<void> {
    if (this.challenge?.scheme === 'bearer' && !this.authorization(repo, scopes)) {
      await this.fetchToken(repo, scopes);
    }
  }

  private async request(spec: RequestSpec): Promise<HttpResponse> {
    const scopes = this.scopes(spec);
    let url = spec.url ?? new URL(spec.path!, this.base);
    const replayable = spec.body === undefined || Buffer.isBuffer(spec.body);
    if (!replayable) await this.prepareAuth(spec.repo, scopes);
    let authenticated = false;
    for (let hops = 0; ; hops++) {
      const headers: OutgoingHttpHeaders = { ...spec.headers };
      // Credentials go only to the registry itself, never to a host it redirects to.
      if (url.origin === this.base.origin) {
        const a = this.authorization(spec.repo, scopes);
        if (a) headers.authorization = a;
      }
      const res = await this.transport.send({
        method: spec.method,
        url,
        headers,
        body: spec.body,
        timeoutMs: this.timeoutMs,
      });
      if (res.status === 401 && !authenticated && replayable && url.origin === this.base.origin) {
        const c = parseChallenge(header(res.headers, 'www-authenticate'));
        const bearer = c?.scheme === 'bearer';
        // Basic needs credentials; without them the 401 is the answer.
        if (!c || (!bearer && this.credentials(spec.repo)?.username === undefined)) return res;
        drain(res.body);
        this.challenge = c;
        authenticated = true;
        if (bearer && !this.credentials(spec.repo)?.registryToken) {
          await this.fetchToken(spec.repo, scopes);
        }
        continue;
      }
      const location = header(res.headers, 'location');
      if (
        REDIRECTS.has(res.status) &&
        location &&
        (spec.method === 'GET' || spec.method === 'HEAD')
      ) {
        drain(res.body);
        if (hops >= 5)
          throw new OciError('Registry', `${this.where(spec.repo)}: too many redirects`);
        url = new URL(location, url);
        continue;
      }
      return res;
    }
  }

  /** Turns an unexpected answer into an OciError naming what was asked. */
  private async fail(res: HttpResponse, what: string, repo?: string): Promise<never> {
    let detail = '';
    if (res.body.readable) {
      const body = await readBody(res.body, 64 << 10).catch(() => Buffer.alloc(0));
      try {
        const doc = JSON.parse(body.toString('utf8')) as {
          errors?: { code?: string; message?: string }[];
        };
        detail = (doc.errors ?? [])
          .map((e) => [e.code, e.message].filter(Boolean).join(': '))
          .join('; ');
      } catch {
        detail = body.toString('utf8').trim().slice(0, 200);
      }
    }
    const suffix = detail ? ` (${detail})` : '';
    const s = res.status;
    if (s === 400 && this.transport.scheme === 'http' && /HTTPS/.test(detail)) {
      throw new OciError(
        'TLS',
        `${what}: ${this.where(repo)} serves HTTPS, not plain HTTP; unset ${this.transport.settings.insecure}`,
        { status: s },
      );
    }
    if (s === 404) {
      throw new OciError('NotFound', `${what} not found in ${this.where(repo)}${suffix}`, {
        status: s,
      });
    }
    if (s === 401 || s === 403) {
      const creds = repo ? this.credentials(repo) : undefined;
      const who =
        creds?.username !== undefined
          ? `refused the credentials of user "${creds.username}"`
          : 'requires credentials and none were given for it';
      throw new OciError(
        'Unauthorized',
        `${what}: ${this.where(repo)} ${s === 403 ? 'denied access' : who} (HTTP ${s})${suffix}; ` +
          `check ${this.transport.settings.credentials}`,
        { status: s },
      );
    }
    throw new OciError('Registry', `${what}: ${this.where(repo)} answered HTTP ${s}${suffix}`, {
      status: s,
    });
  }

  /** GET /v2/: is there a registry, and which authentication does it want? */
  async ping(): Promise<PingResult> {
    const res = await this.transport.send({
      method: 'GET',
      url: new URL('/v2/', this.base),
      timeoutMs: this.timeoutMs,
    });
    drain(res.body);
    const c = parseChallenge(header(res.headers, 'www-authenticate'));
    if (res.status !== 200 && res.status !== 401) {
      throw new OciError(
        'Registry',
        `${this.where()} answered HTTP ${res.status} at /v2/; it is not an OCI registry`,
        { status: res.status },
      );
    }
    if (c) this.challenge = c;
    return {
      apiVersion: header(res.headers, 'docker-distribution-api-version'),
      authScheme: res.status === 401 ? (c?.scheme === 'basic' ? 'Basic' : 'Bearer') : undefined,
    };
  }

  private manifestPath(repo: string, target: string): string {
    return `/v2/${repo}/manifests/${target}`;
  }

  /** HEAD of a manifest: its digest, without downloading it (falls back to GET if needed). */
  async headManifest(repo: string, target: string): Promise<ManifestInfo> {
    const res = await this.request({
      method: 'HEAD',
      path: this.manifestPath(repo, target),
      repo,
      headers: { accept: MANIFEST_ACCEPT },
    });
    drain(res.body);
    // A HEAD answer has no body to explain an odd status; GET gives the registry's words.
    if (![200, 401, 403, 404].includes(res.status)) {
      const m = await this.getManifest(repo, target);
      return { digest: m.digest, mediaType: m.mediaType, size: m.size };
    }
    if (res.status !== 200) return this.fail(res, `manifest ${target}`, repo);
    const digest = header(res.headers, 'docker-content-digest');
    const mediaType = header(res.headers, 'content-type')?.split(';')[0]?.trim();
    const size = Number(header(res.headers, 'content-length'));
    if (!digest || digestProblem(digest) || !mediaType || !Number.isFinite(size)) {
      const m = await this.getManifest(repo, target);
      return { digest: m.digest, mediaType: m.mediaType, size: m.size };
    }
    if (target.includes(':') && digest !== target) throw mismatch('manifest', target, digest);
    return { digest, mediaType, size };
  }

  /** GET of a manifest or index, verified against the digest asked for or announced. */
  async getManifest(repo: string, target: string): Promise<FetchedManifest> {
    const res = await this.request({
      method: 'GET',
      path: this.manifestPath(repo, target),
      repo,
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (res.status !== 200) return this.fail(res, `manifest ${target}`, repo);
    const bytes = await readBody(res.body, MAX_MANIFEST);
    const isDigest = target.includes(':');
    let digest: string;
    if (isDigest) {
      verifyDigest('manifest', target, bytes);
      digest = target;
    } else {
      digest = sha256Digest(bytes);
      const announced = header(res.headers, 'docker-content-digest');
      if (announced?.startsWith('sha256:') && announced !== digest) {
        throw mismatch(`manifest ${repo}:${target}`, announced, digest);
      }
    }
    return { ...parseManifest(bytes, header(res.headers, 'content-type'), digest), bytes };
  }

  /** PUT a manifest under a tag or its digest; returns its digest. */
  async putManifest(
    repo: string,
    target: string,
    bytes: Buffer,
    mediaType: string,
  ): Promise<string> {
    const res = await this.request({
      method: 'PUT',
      path: this.manifestPath(repo, target),
      repo,
      push: true,
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    if (res.status !== 201 && res.status !== 200)
      return this.fail(res, `push of manifest ${target}`, repo);
    drain(res.body);
    const digest = sha256Digest(bytes);
    const announced = header(res.headers, 'docker-content-digest');
    if (announced?.startsWith('sha256:') && announced !== digest) {
      throw mismatch(`pushed manifest ${repo}:${target}`, digest, announced);
    }
    return digest;
  }

  /** Whether the repository holds a blob (HEAD; 404 is false, other failures throw). */
  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const res = await this.request({ method: 'HEAD', path: `/v2/${repo}/blobs/${digest}`, repo });
    drain(res.body);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return this.fail(res, `blob ${digest}`, repo);
  }

  /**
   * A blob as a stream that fails with DigestMismatch at its end when the bytes do not hash to
   * `digest`; consumers must not act on the content before the stream has ended cleanly.
   */
  async openBlob(repo: string, digest: string, size?: number): Promise<Readable> {
    const res = await this.request({ method: 'GET', path: `/v2/${repo}/blobs/${digest}`, repo });
    if (res.status !== 200) return this.fail(res, `blob ${digest}`, repo);
    const check = verifyingStream(`blob ${digest} of ${this.where(repo)}:`, digest, size);
    res.body.on('error', (e) => check.destroy(e));
    return res.body.pipe(check);
  }

  /** A whole blob, verified. */
  async getBlob(repo: string, digest: string, size?: number): Promise<Buffer> {
    const s = await this.openBlob(repo, digest, size);
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private uploadUrl(res: HttpResponse, repo: string): URL {
    const loc = header(res.headers, 'location');
    if (!loc) throw new OciError('Registry', `${this.where(repo)}: upload answer has no Location`);
    return new URL(loc, this.base);
  }

  private async startUpload(repo: string): Promise<URL> {
    const res = await this.request({
      method: 'POST',
      path: `/v2/${repo}/blobs/uploads/`,
      repo,
      push: true,
    });
    if (res.status !== 202) return this.fail(res, 'blob upload', repo);
    drain(res.body);
    return this.uploadUrl(res, repo);
  }

  private async finishUpload(
    repo: string,
    at: URL,
    digest: string,
    body: Buffer | Readable | undefined,
    size: number,
  ): Promise<void> {
    const url = new URL(at);
    url.searchParams.set('digest', digest);
    const headers: OutgoingHttpHeaders = { 'content-type': 'application/octet-stream' };
    if (!Buffer.isBuffer(body)) headers['content-length'] = body === undefined ? 0 : size;
    const res = await this.request({ method: 'PUT', url, repo, push: true, headers, body });
    if (res.status !== 201) return this.fail(res, `upload of blob ${digest}`, repo);
    drain(res.body);
  }

  /**
   * Uploads a blob unless the repository has it. Monolithic (POST, then PUT with the content)
   * by default; with `chunkSize`, in PATCH chunks of that size, then a closing PUT.
   */
  async uploadBlob(
    repo: string,
    data: Buffer,
    opts: { chunkSize?: number } = {},
  ): Promise<BlobRef & { uploaded: boolean }> {
    const digest = sha256Digest(data);
    const ref = { digest, size: data.length };
    if (await this.hasBlob(repo, digest)) return { ...ref, uploaded: false };
    let at = await this.startUpload(repo);
    const chunk = opts.chunkSize;
    if (chunk === undefined || data.length <= chunk) {
      await this.finishUpload(repo, at, digest, data, data.length);
      return { ...ref, uploaded: true };
    }
    if (!(chunk > 0)) throw new OciError('InvalidContent', `chunk size ${chunk} must be positive`);
    for (let off = 0; off < data.length; off += chunk) {
      const part = data.subarray(off, Math.min(off + chunk, data.length));
      const end = off + part.length - 1;
      const res = await this.request({
        method: 'PATCH',
        url: at,
        repo,
        push: true,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${off}-${end}` },
        body: part,
      });
      if (res.status !== 202) return this.fail(res, `chunk ${off}-${end} of blob ${digest}`, repo);
      drain(res.body);
      const range = header(res.headers, 'range');
      if (range && range !== `0-${end}`) {
        throw new OciError(
          'Registry',
          `${this.where(repo)} acknowledged bytes ${range} of blob ${digest}, expected 0-${end}`,
        );
      }
      at = this.uploadUrl(res, repo);
    }
    await this.finishUpload(repo, at, digest, undefined, 0);
    return { ...ref, uploaded: true };
  }

  /** Uploads a blob of known digest and size from a stream (a copy from another registry). */
  async uploadBlobStream(repo: string, blob: BlobRef, stream: Readable): Promise<void> {
    const at = await this.startUpload(repo);
    await this.finishUpload(repo, at, blob.digest, stream, blob.size);
  }

  /**
   * Cross-repository mount: asks the registry to link a blob of `from` into `repo` without
   * sending it. Returns false when the registry declined (it then opened an upload, which is
   * cancelled here).
   */
  async mountBlob(repo: string, digest: string, from: string): Promise<boolean> {
    const q = new URLSearchParams({ mount: digest, from });
    const res = await this.request({
      method: 'POST',
      path: `/v2/${repo}/blobs/uploads/?${q.toString()}`,
      repo,
      push: true,
      pullFrom: [from],
    });
    if (res.status === 201) {
      drain(res.body);
      return true;
    }
    if (res.status !== 202) return this.fail(res, `mount of blob ${digest} from ${from}`, repo);
    drain(res.body);
    const at = this.uploadUrl(res, repo);
    const del = await this.request({ method: 'DELETE', url: at, repo, push: true }).catch(
      () => undefined,
    );
    if (del) drain(del.body);
    return false;
  }
}

/** Parses and checks a manifest document; `contentType` is the answer's Content-Type. */
export function parseManifest(
  bytes: Buffer,
  contentType: string | undefined,
  digest: string,
): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    doc = v as Record<string, unknown>;
  } catch (e) {
    throw new OciError(
      'InvalidContent',
      `manifest ${digest} is not a JSON object: ${(e as Error).message}`,
    );
  }
  const ct = contentType?.split(';')[0]?.trim();
  const mediaType =
    (typeof doc.mediaType === 'string' ? doc.mediaType : undefined) ??
    (ct && ct !== 'application/json' ? ct : undefined) ??
    (Array.isArray(doc.manifests) ? MediaType.OciIndex : MediaType.OciManifest);
  if (
    doc.schemaVersion === 1 ||
    mediaType === MediaType.DockerSchema1 ||
    mediaType === MediaType.DockerSchema1Signed
  ) {
    throw new OciError(
      'InvalidContent',
      `manifest ${digest} is Docker schema 1, which is deprecated and not supported; push the image again with a current tool`,
    );
  }
  const info = { digest, mediaType, size: bytes.length };
  const checkDescriptor = (d: unknown, field: string): void => {
    const o = d as Record<string, unknown> | null;
    if (
      !o ||
      typeof o !== 'object' ||
      typeof o.digest !== 'string' ||
      digestProblem(o.digest) !== undefined ||
      typeof o.size !== 'number' ||
      typeof o.mediaType !== 'string'
    ) {
      throw new OciError(
        'InvalidContent',
        `manifest ${digest}: ${field} must be a descriptor with mediaType, digest and size`,
      );
    }
  };
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) {
      throw new OciError('InvalidContent', `index ${digest}: manifests must be a list`);
    }
    doc.manifests.forEach((d, i) => checkDescriptor(d, `manifests[${i}]`));
    return { ...info, kind: 'index', index: doc as unknown as ImageIndex };
  }
  if (isManifestMediaType(mediaType) || (doc.config !== undefined && Array.isArray(doc.layers))) {
    checkDescriptor(doc.config, 'config');
    if (!Array.isArray(doc.layers)) {
      throw new OciError('InvalidContent', `manifest ${digest}: layers must be a list`);
    }
    doc.layers.forEach((d, i) => checkDescriptor(d, `layers[${i}]`));
    return { ...info, kind: 'manifest', manifest: doc as unknown as ImageManifest };
  }
  throw new OciError(
    'InvalidContent',
    `manifest ${digest} has unsupported media type ${mediaType}`,
  );
}
