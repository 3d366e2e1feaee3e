import { createHash } from 'node:crypto';

/** Ten hex digits of the SHA-256 of `s`: stable names for long or unusual inputs. */
export function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 10);
}

/** Label values are at most 63 characters; longer names are replaced by a stable hash. */
export function labelValue(s: string): string {
  return s.length <= 63 ? s : `h-${shortHash(s)}`;
}
