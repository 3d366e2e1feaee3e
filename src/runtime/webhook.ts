import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jsonPatch } from './diff.js';
import {
  BodyTooLargeError,
  DEFAULT_BODY_LIMIT,
  readLimitedBody,
  replyBodyTooLarge,
} from './http.js';
import { silentLogger, type Logger } from './log.js';
import type { Runnable } from './manager.js';
import type { KubeObject } from './objects.js';
import { CertificateFiles, reloadServerCertificate } from './tls.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** admission.k8s.io/v1 AdmissionRequest. */
export interface AdmissionRequest<T = KubeObject> {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo?: { username?: string; uid?: string; groups?: string[] };
  object?: T;
  oldObject?: T;
  dryRun?: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code?: number; message?: string; reason?: string };
  patch?: string;
  patchType?: 'JSONPatch';
  warnings?: string[];
}

export interface ValidationResult {
  allowed: boolean;
  /** Shown to the user by kubectl; name the field and the fix. */
  message?: string;
  /** HTTP-like code the apiserver reports (403 when absent). */
  code?: number;
  warnings?: string[];
}

export const allow = (warnings?: string[]): ValidationResult => ({ allowed: true, warnings });
export const deny = (message: string, code = 403): ValidationResult => ({
  allowed: false,
  message,
  code,
});

export type Validator<T = KubeObject> = (
  req: AdmissionRequest<T>,
) => ValidationResult | Promise<ValidationResult>;

/**
 * Gets a copy of the object to change and returns it (or undefined to change nothing); the
 * server sends the apiserver the JSON patch of the differences.
 */
export type Mutator<T = KubeObject> = (
  obj: T,
  req: AdmissionRequest<T>,
) => T | undefined | Promise<T | undefined>;

export interface WebhookServerOptions {
  host?: string;
  /** 9443 like controller-runtime; 0 picks a free port. */
  port?: number;
  certFile: string;
  keyFile: string;
  /** How often to look for renewed certificate files (cert-manager, service-ca rotate them). */
  reloadIntervalMs?: number;
  /** Largest AdmissionReview accepted, in bytes (default 3 MiB, the apiserver's own request limit). */
  maxBodyBytes?: number;
  log?: Logger;
}

type Handler = (req: AdmissionRequest) => Promise<AdmissionResponse>;

/**
 * An HTTPS server for admission webhooks (AdmissionReview v1): validating and mutating handlers
 * by path. Certificate and key are re-read when their files change, without a restart.
 */
export class WebhookServer {
  private readonly handlers = new Map<string, Handler>();
  private server: Server | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly log: Logger;
  private readonly files: CertificateFiles;

  constructor(private readonly opts: WebhookServerOptions) {
    this.log = (opts.log ?? silentLogger).child({ logger: 'webhook' });
    this.files = new CertificateFiles(opts.certFile, opts.keyFile);
  }

  /** Times the certificate was loaded (1 at start). */
  get certificateLoads(): number {
    return this.files.loads;
  }

  validating<T extends KubeObject>(path: string, fn: Validator<T>): this {
    this.handlers.set(path, async (req) => {
      const r = await fn(req as AdmissionRequest<T>);
      return {
        uid: req.uid,
        allowed: r.allowed,
        ...(r.allowed
          ? {}
          : {
              status: { code: r.code ?? 403, message: r.message ?? 'denied', reason: 'Forbidden' },
            }),
        ...(r.warnings?.length ? { warnings: r.warnings } : {}),
      };
    });
    return this;
  }

  mutating<T extends KubeObject>(path: string, fn: Mutator<T>): this {
    this.handlers.set(path, async (req) => {
      const original = req.object as T | undefined;
      if (original === undefined) return { uid: req.uid, allowed: true };
      const changed = await fn(structuredClone(original), req as AdmissionRequest<T>);
      const ops = changed === undefined ? [] : jsonPatch(original, changed);
      return ops.length
        ? {
            uid: req.uid,
            allowed: true,
            patchType: 'JSONPatch',
            patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
          }
        : { uid: req.uid, allowed: true };
    });
    return this;
  }

  get address(): AddressInfo | undefined {
    return (this.server?.address() as AddressInfo | null) ?? undefined;
  }

  async start(): Promise<AddressInfo> {
    const { cert, key } = this.files.read();
    const server = createServer(
      { cert, key, minVersion: 'TLSv1.2' },
      (req, res) => void this.serve(req, res),
    );
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 9443, this.opts.host ?? '0.0.0.0', () => resolve());
    });
    this.timer = setInterval(() => this.reloadCertificates(), this.opts.reloadIntervalMs ?? 10_000);
    this.timer.unref();
    const a = this.address!;
    this.log.info('serving webhooks', {
      addr: `${a.address}:${a.port}`,
      paths: [...this.handlers.keys()],
    });
    return a;
  }

  /** Loads the certificate files again if they changed; returns whether it did. */
  reloadCertificates(): boolean {
    if (!this.server) return false;
    return reloadServerCertificate(this.server, this.files, this.log, 'webhook');
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }

  /** The server as a manager runnable: serves on every replica, leader or not. */
  runnable(): Runnable {
    return {
      name: 'webhook',
      needLeaderElection: false,
      start: async (signal) => {
        await this.start();
        if (!signal.aborted) {
          await new Promise<void>((r) =>
            signal.addEventListener('abort', () => r(), { once: true }),
          );
        }
        await this.stop();
      },
    };
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const handler = this.handlers.get(path);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!handler) return reply(404, { message: `no webhook at ${path}` });
    if (req.method !== 'POST') return reply(405, { message: 'use POST' });
    let body: Buffer;
    try {
      body = await readLimitedBody(req, this.opts.maxBodyBytes ?? DEFAULT_BODY_LIMIT);
    } catch (e) {
      if (e instanceof BodyTooLargeError) return replyBodyTooLarge(res, e);
      res.destroy(); // the client went away mid-body
      return;
    }
    let review: { apiVersion?: string; kind?: string; request?: AdmissionRequest };
    try {
      review = JSON.parse(body.toString('utf8')) as typeof review;
    } catch {
      return reply(400, { message: 'body is not JSON' });
    }
    const ar = review.request;
    if (review.kind !== 'AdmissionReview' || !ar?.uid) {
      return reply(400, {
        message: 'expected an admission.k8s.io/v1 AdmissionReview with a request',
      });
    }
    let response: AdmissionResponse;
    try {
      response = await handler(ar);
    } catch (e) {
      this.log.error('webhook handler failed', { path, error: e });
      response = {
        uid: ar.uid,
        allowed: false,
        status: { code: 500, message: `internal error: ${(e as Error).message}` },
      };
    }
    reply(200, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
  }
}
