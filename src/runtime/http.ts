import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request bodies larger than this are refused with 413 unless a server says otherwise. */
export const DEFAULT_BODY_LIMIT = 3 * 1024 * 1024;

/** A request body over the server's limit; answer it with replyBodyTooLarge. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body is larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a request body, refusing it as soon as it grows past `limit` bytes (a Content-Length
 * over the limit is refused before any byte is read). Every server that reads a body (webhooks,
 * the dashboard) goes through this, so none buffers an unbounded amount of memory.
 */
export async function readLimitedBody(
  req: IncomingMessage,
  limit = DEFAULT_BODY_LIMIT,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLargeError(limit);
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * 413 with a JSON message that says the limit. The connection is closed after the answer:
 * the rest of the body is not read.
 */
export function replyBodyTooLarge(res: ServerResponse, e: BodyTooLargeError): void {
  res.writeHead(413, { 'Content-Type': 'application/json', Connection: 'close' });
  res.end(
    JSON.stringify({
      message: `request body too large: the limit is ${e.limit} bytes (${Math.round(e.limit / 1024)} KiB)`,
    }),
  );
}
