import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';

/**
 * GET https://127.0.0.1:PORT/PATH without verifying the certificate (as Prometheus scrapes a
 * self-signed metrics endpoint), with an optional bearer token. Gives the status, the body and
 * the served certificate's SHA-256 fingerprint.
 */
export function getInsecure(
  port: number,
  path: string,
  token?: string,
): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        rejectUnauthorized: false,
        agent: false,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerX509Certificate()!.fingerprint256;
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
