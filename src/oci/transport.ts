import type {
  Agent as HttpAgentType,
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { OciError } from './errors.js';

// required, not imported: an ESM import of node:http loads its lazy exports too (the fetch
// implementation, http2), about 12 MiB resident in every process that talks to a registry.
const { Agent: HttpAgent, request: httpRequest } = createRequire(import.meta.url)(
  'node:http',
) as typeof import('node:http');

/** A Module's `registryTLS` (and `build.baseImageRegistryTLS`). */
export interface RegistryTLS {
  /** Talk plain HTTP to the registry. */
  insecure?: boolean;
  /** Use HTTPS but accept any certificate. */
  insecureSkipTLSVerify?: boolean;
  /** Extra trusted CA certificates (PEM), e.g. a private registry's CA. */
  ca?: string | Buffer;
  /** How the user sets these switches and the credentials, for error hints [a Module's fields]. */
  settings?: RegistrySettingNames;
}

/**
 * Where a user sets `insecure`, `insecureSkipTLSVerify` and the registry credentials: a
 * Module's fields, or the flags of the command that prints the error.
 */
export interface RegistrySettingNames {
  insecure: string;
  skipVerify: string;
  credentials: string;
}

/** A Module's fields: what the operator's errors name. */
export const MODULE_REGISTRY_SETTINGS: RegistrySettingNames = {
  insecure: 'registryTLS.insecure',
  skipVerify: 'registryTLS.insecureSkipTLSVerify',
  credentials: 'the pull secret (imageRepoSecret)',
};

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | Readable;
  /** Idle time on the socket before the request fails as Unreachable. */
  timeoutMs: number;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
]);

function classify(
  e: NodeJS.ErrnoException & { reason?: string },
  url: URL,
  names: RegistrySettingNames,
): OciError {
  const code = e.code ?? '';
  const where = `${url.protocol}//${url.host}`;
  if (UNREACHABLE_CODES.has(code)) {
    return new OciError('Unreachable', `registry ${where} is unreachable: ${e.message}`, {
      cause: e,
    });
  }
  // Certificate problems and a TLS handshake with a plain-HTTP server (EPROTO).
  if (
    code === 'EPROTO' ||
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)
  ) {
    return new OciError(
      'TLS',
      `TLS with registry ${where} failed (${code}): ${e.message}; if the registry is trusted, ` +
        `set ${names.skipVerify} (or ${names.insecure} for plain HTTP)`,
      { cause: e },
    );
  }
  return new OciError('Unreachable', `request to ${where} failed: ${e.message}`, { cause: e });
}

/** HTTP(S) with the TLS options of one registry; sockets are kept alive between requests. */
export class Transport {
  readonly scheme: 'http' | 'https';
  /** How the user sets the TLS switches, for error hints. */
  readonly settings: RegistrySettingNames;
  private readonly agent: HttpAgentType | HttpsAgent;

  constructor(tls: RegistryTLS = {}) {
    this.scheme = tls.insecure ? 'http' : 'https';
    this.settings = tls.settings ?? MODULE_REGISTRY_SETTINGS;
    this.agent = tls.insecure
      ? new HttpAgent({ keepAlive: true })
      : new HttpsAgent({
          keepAlive: true,
          rejectUnauthorized: !tls.insecureSkipTLSVerify,
          ...(tls.ca ? { ca: tls.ca } : {}),
        });
  }

  send(req: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const fn = req.url.protocol === 'http:' ? httpRequest : httpsRequest;
      // A redirect may lead to another scheme (blob storage); its agent must match.
      const agent =
        (req.url.protocol === 'http:') === (this.scheme === 'http') ? this.agent : undefined;
      const headers: OutgoingHttpHeaders = { 'user-agent': 'hwe', ...req.headers };
      if (Buffer.isBuffer(req.body)) headers['content-length'] = req.body.length;
      const r = fn(req.url, { method: req.method, headers, agent }, (res) => {
        res.setTimeout(req.timeoutMs, () =>
          res.destroy(new OciError('Unreachable', `registry ${req.url.host} stopped sending data`)),
        );
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      r.setTimeout(req.timeoutMs, () => {
        r.destroy(
          Object.assign(new Error(`no answer within ${req.timeoutMs / 1000}s`), {
            code: 'ETIMEDOUT',
          }),
        );
      });
      r.on('error', (e) => reject(e instanceof OciError ? e : classify(e, req.url, this.settings)));
      if (req.body === undefined) r.end();
      else if (Buffer.isBuffer(req.body)) r.end(req.body);
      else {
        req.body.on('error', (e) => r.destroy(e));
        req.body.pipe(r);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Reads a whole response body. */
export async function readBody(res: IncomingMessage, limit = 64 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    const b = c as Buffer;
    n += b.length;
    if (n > limit) {
      res.destroy();
      throw new OciError('InvalidContent', `answer from the registry exceeds ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Discards a response body so that its socket can be reused. */
export function drain(res: IncomingMessage): void {
  res.resume();
}
