import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { OciError } from './errors.js';

const ALGORITHMS: Record<string, string> = { sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

function hasherFor(digest: string): { alg: string; hash: Hash } {
  const alg = digest.slice(0, digest.indexOf(':'));
  const nodeAlg = ALGORITHMS[alg];
  if (!nodeAlg) {
    throw new OciError('InvalidContent', `digest ${digest}: algorithm "${alg}" is not supported`);
  }
  return { alg, hash: createHash(nodeAlg) };
}

/** `sha256:<hex>` of some bytes. */
export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The digest of `data` computed with the algorithm of `like` (`sha256:…`, `sha512:…`). */
export function digestLike(like: string, data: Uint8Array): string {
  const { alg, hash } = hasherFor(like);
  return `${alg}:${hash.update(data).digest('hex')}`;
}

export function mismatch(what: string, expected: string, actual: string): OciError {
  return new OciError(
    'DigestMismatch',
    `${what} ${expected}: the content received has digest ${actual}; the registry or something ` +
      'between it and us altered it, so it is refused',
  );
}

/** Throws DigestMismatch unless `data` hashes to `expected`. */
export function verifyDigest(what: string, expected: string, data: Uint8Array): void {
  const actual = digestLike(expected, data);
  if (actual !== expected) throw mismatch(what, expected, actual);
}

/**
 * A pass-through stream that fails at its end when the bytes that went through do not hash to
 * `expected` (or their count differs from `size`), so a reader never trusts unverified content.
 */
export function verifyingStream(what: string, expected: string, size?: number): Transform {
  const { alg, hash } = hasherFor(expected);
  let count = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      count += chunk.length;
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const actual = `${alg}:${hash.digest('hex')}`;
      if (actual !== expected) return cb(mismatch(what, expected, actual));
      if (size !== undefined && count !== size) {
        return cb(
          new OciError(
            'InvalidContent',
            `${what} ${expected}: ${count} bytes received, ${size} announced`,
          ),
        );
      }
      cb();
    },
  });
}
