import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { createSecureContext } from 'node:tls';
import { StringDecoder } from 'node:string_decoder';
import {
  type ExecCredential,
  ExecCredentialError,
  ExecCredentialSource,
} from './exec-credential.js';
import type { ClusterAccess } from './kubeconfig.js';

/** What went wrong, in the terms a caller branches on (metav1.StatusReason, simplified). */
export type KubeErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Forbidden'
  | 'Unauthorized'
  | 'Gone'
  | 'BadRequest'
  | 'TooManyRequests'
  | 'ServerError'
  | 'Unavailable';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** A failed request. `kind` says what happened; `causes` name the fields of an Invalid object. */
export class KubeError extends Error {
  readonly kind: KubeErrorKind;
  readonly status: number;
  readonly reason: string | undefined;
  readonly causes: StatusCause[];
  readonly retryAfterSeconds: number | undefined;

  constructor(
    kind: KubeErrorKind,
    status: number,
    message: string,
    opts: { reason?: string; causes?: StatusCause[]; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'KubeError';
    this.kind = kind;
    this.status = status;
    this.reason = opts.reason;
    this.causes = opts.causes ?? [];
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

export function isKubeError(e: unknown, kind?: KubeErrorKind): e is KubeError {
  return e instanceof KubeError && (kind === undefined || e.kind === kind);
}

function kindFor(status: number, reason: string | undefined): KubeErrorKind {
  switch (reason) {
    case 'NotFound':
    case 'AlreadyExists':
    case 'Conflict':
    case 'Invalid':
    case 'Forbidden':
    case 'Unauthorized':
    case 'Gone':
    case 'BadRequest':
    case 'TooManyRequests':
      return reason;
    case 'Expired':
      return 'Gone';
  }
  switch (status) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return 'Conflict';
    case 410:
      return 'Gone';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    case 503:
      return 'Unavailable';
    default:
      return 'ServerError';
  }
}

interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  details?: { causes?: StatusCause[]; retryAfterSeconds?: number };
}

export function errorFromResponse(status: number, body: string, what: string): KubeError {
  let s: StatusBody = {};
  try {
    s = JSON.parse(body) as StatusBody;
  } catch {
    // Not a Status object (a proxy, a crashed server): keep the text.
  }
  const message = s.message ?? (body.trim().slice(0, 500) || `HTTP ${status}`);
  return new KubeError(kindFor(status, s.reason), status, `${what}: ${message}`, {
    reason: s.reason,
    causes: s.details?.causes,
    retryAfterSeconds: s.details?.retryAfterSeconds,
  });
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface RequestInit {
  method?: string;
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Per-request timeout in ms (not for watches). */
  timeoutMs?: number;
}

const TOKEN_FILE_REFRESH_MS = 60_000;

/**
 * A thin, dependable HTTP client for one apiserver: keep-alive connections, JSON in and out,
 * errors as KubeError values, and streamed responses for watches.
 */
export class KubeClient {
  readonly access: ClusterAccess;
  private agent: Agent;
  private readonly maxSockets: number;
  private token: string | undefined;
  private tokenReadAt = 0;
  private readonly url: URL;
  private readonly exec: ExecCredentialSource | undefined;
  /** The client certificate the agent presents when an exec plugin gave one. */
  private agentCert: string | undefined;
  private readonly retiredAgents: Agent[] = [];

  constructor(access: ClusterAccess, opts: { maxSockets?: number } = {}) {
    this.access = access;
    this.url = new URL(access.server);
    this.maxSockets = opts.maxSockets ?? 64;
    this.agent = this.newAgent(access.cert, access.key);
    this.token = access.token;
    this.exec = access.exec ? new ExecCredentialSource(access.exec) : undefined;
  }

  private newAgent(cert: string | undefined, key: string | undefined): Agent {
    return new Agent({
      keepAlive: true,
      maxSockets: this.maxSockets,
      // One TLS context for every connection: given the CA and key instead, each connection
      // builds its own (about 30 KiB more per connection, 1 MiB at 32 connections).
      secureContext: createSecureContext({ ca: this.access.ca, cert, key }),
      rejectUnauthorized: !this.access.insecureSkipTLSVerify,
    });
  }

  /** The bearer token: the exec plugin's, else the token file's (re-read every minute), else the token. */
  private async credential(): Promise<{ token: string | undefined; exec?: ExecCredential }> {
    if (this.exec) {
      let cred: ExecCredential;
      try {
        cred = await this.exec.get();
      } catch (e) {
        if (!(e instanceof ExecCredentialError)) throw e;
        throw new KubeError('Unauthorized', 0, e.message);
      }
      if (cred.cert && cred.key && cred.cert !== this.agentCert) {
        // requests in flight finish on the old connections; close() ends those
        this.retiredAgents.push(this.agent);
        this.agent = this.newAgent(cred.cert, cred.key);
        this.agentCert = cred.cert;
      }
      return { token: cred.token ?? this.token, exec: cred };
    }
    if (this.access.tokenFile && Date.now() - this.tokenReadAt > TOKEN_FILE_REFRESH_MS) {
      try {
        this.token = readFileSync(this.access.tokenFile, 'utf8').trim();
      } catch (e) {
        throw new KubeError(
          'Unauthorized',
          0,
          `${this.access.source}: cannot read the token file ${this.access.tokenFile}: ${(e as Error).message}`,
        );
      }
      this.tokenReadAt = Date.now();
    }
    return { token: this.token };
  }

  /** After a 401: whether a fresh credential may help, having dropped the refused one. */
  private refreshAfterUnauthorized(used: { exec?: ExecCredential }): boolean {
    if (used.exec && this.exec) {
      this.exec.invalidate(used.exec);
      return true;
    }
    if (this.access.tokenFile) {
      this.tokenReadAt = 0;
      return true;
    }
    return false;
  }

  private options(
    path: string,
    init: RequestInit,
    accept: string,
    token: string | undefined,
  ): RequestOptions {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(init.query ?? {}))
      if (v !== undefined) qs.set(k, String(v));
    const q = qs.toString();
    const headers: Record<string, string> = { Accept: accept, 'User-Agent': 'hwe' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (init.body !== undefined) headers['Content-Type'] = init.contentType ?? 'application/json';
    return {
      agent: this.agent,
      hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
      port: this.url.port || 443,
      path: `${this.url.pathname.replace(/\/$/, '')}${path}${q ? `?${q}` : ''}`,
      method: init.method ?? 'GET',
      headers,
      signal: init.signal,
    };
  }

  /**
   * Sends a request with the current credential. A 401 to a credential that can be renewed (an
   * exec plugin's, a token file's) renews it and sends the request once more.
   */
  private async send(path: string, init: RequestInit, accept: string): Promise<IncomingMessage> {
    const cred = await this.credential();
    const res = await this.sendOnce(path, init, accept, cred.token);
    if (res.statusCode !== 401 || !this.refreshAfterUnauthorized(cred)) return res;
    res.resume();
    return this.sendOnce(path, init, accept, (await this.credential()).token);
  }

  private sendOnce(
    path: string,
    init: RequestInit,
    accept: string,
    token: string | undefined,
  ): Promise<IncomingMessage> {
    const payload =
      init.body === undefined
        ? undefined
        : Buffer.from(typeof init.body === 'string' ? init.body : JSON.stringify(init.body));
    return new Promise((resolve, reject) => {
      const opts = this.options(path, init, accept, token);
      // Node sends DELETE bodies neither chunked nor with a length unless told: the server would
      // then read the body as the next request on the kept-alive connection.
      if (payload)
        (opts.headers as Record<string, string>)['Content-Length'] = String(payload.length);
      const req = httpsRequest(opts, resolve);
      req.on('error', (e) =>
        reject(new KubeError('Unavailable', 0, `${init.method ?? 'GET'} ${path}: ${e.message}`)),
      );
      if (init.timeoutMs) {
        req.setTimeout(init.timeoutMs, () =>
          req.destroy(new Error(`no answer within ${init.timeoutMs} ms`)),
        );
      }
      req.end(payload);
    });
  }

  /** One request; the answer's body as text. Throws KubeError for any non-2xx answer. */
  async requestText(
    path: string,
    init: RequestInit = {},
    accept = 'application/json',
  ): Promise<string> {
    const res = await this.send(path, { timeoutMs: 60_000, ...init }, accept);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      throw errorFromResponse(status, text, `${init.method ?? 'GET'} ${path}`);
    }
    return text;
  }

  /** One request with a JSON answer. Throws KubeError for any non-2xx answer. */
  async request<T = unknown>(path: string, init: RequestInit = {}): Promise<T> {
    const text = await this.requestText(path, init);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * A streamed request whose body is newline-delimited JSON (watch). Yields each parsed line.
   * Ends when the server closes the stream or the signal aborts. `accept` selects another
   * representation (e.g. metadata-only objects).
   */
  async *stream<T = unknown>(
    path: string,
    init: RequestInit = {},
    accept = 'application/json',
  ): AsyncGenerator<T> {
    const res = await this.send(path, init, accept);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw errorFromResponse(status, Buffer.concat(chunks).toString('utf8'), `GET ${path}`);
    }
    // A chunk may end inside a multi-byte character: the decoder keeps its first bytes.
    const utf8 = new StringDecoder('utf8');
    let buf = '';
    try {
      for await (const chunk of res) {
        buf += utf8.write(chunk as Buffer);
        let start = 0;
        let nl: number;
        while ((nl = buf.indexOf('\n', start)) >= 0) {
          const line = buf.slice(start, nl).trim();
          start = nl + 1;
          if (line) yield JSON.parse(line) as T;
        }
        buf = buf.slice(start);
      }
      buf += utf8.end();
    } finally {
      res.destroy();
    }
    if (buf.trim()) yield JSON.parse(buf) as T;
  }

  /** Closes idle keep-alive connections so the process can exit. */
  close(): void {
    for (const a of this.retiredAgents.splice(0)) a.destroy();
    this.agent.destroy();
  }
}
