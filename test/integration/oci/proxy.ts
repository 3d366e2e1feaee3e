import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';

export interface Recorded {
  method: string;
  path: string;
  status: number;
}

/**
 * An HTTP proxy in front of a test registry that records every request, so a test can tell
 * how the client talked to the registry (PATCH chunks, mounts, no re-uploads).
 */
export async function recordingProxy(target: string): Promise<{ host: string; log: Recorded[] }> {
  const log: Recorded[] = [];
  const t = new URL(target);
  const server: Server = createServer((req, res) => {
    const up = request(
      {
        host: t.hostname,
        port: t.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (r) => {
        log.push({ method: req.method ?? '', path: req.url ?? '', status: r.statusCode ?? 0 });
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  server.unref();
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, log };
}
