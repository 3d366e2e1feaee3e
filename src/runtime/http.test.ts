import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLargeError, readLimitedBody, replyBodyTooLarge } from './http.js';

test('readLimitedBody: a body over the limit gets a 413 that states the limit', async () => {
  const server = createServer((req, res) => {
    readLimitedBody(req, 1024).then(
      (b) => res.end(`got ${b.length}`),
      (e: unknown) => {
        assert.ok(e instanceof BodyTooLargeError);
        replyBodyTooLarge(res, e);
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const send = (body: Buffer, chunked: boolean) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          headers: chunked ? { 'transfer-encoding': 'chunked' } : {},
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      // The server may answer and close before the whole body is sent.
      req.on('error', (e: NodeJS.ErrnoException) =>
        e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e),
      );
      req.end(body);
    });
  try {
    assert.deepEqual(await send(Buffer.alloc(1024, 1), false), { status: 200, text: 'got 1024' });
    for (const chunked of [false, true]) {
      const r = await send(Buffer.alloc(64 * 1024, 1), chunked);
      assert.equal(r.status, 413, `chunked=${chunked}`);
      assert.match(
        (JSON.parse(r.text) as { message: string }).message,
        /request body too large: the limit is 1024 bytes/,
      );
    }
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
