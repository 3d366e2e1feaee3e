/**
 * Failures of registry operations, as values a caller can branch on. KMM decides between
 * "build the image", "report bad credentials" and "retry later" from `kind` alone.
 */
export type OciErrorKind =
  /** An image reference that does not parse; the message names the part at fault. */
  | 'InvalidReference'
  /** The registry answered 404: no such repository, tag, manifest or blob. */
  | 'NotFound'
  /** The registry refused the credentials (401 after authenticating) or denied access (403). */
  | 'Unauthorized'
  /** No answer: connection refused, name not resolved, timeout, connection reset. */
  | 'Unreachable'
  /** The TLS handshake failed, e.g. an untrusted certificate or a plain-HTTP server. */
  | 'TLS'
  /** Content whose sha256 differs from the digest it was asked for or announced with. */
  | 'DigestMismatch'
  /** A manifest, index, config or layer that is not what the specification allows. */
  | 'InvalidContent'
  /** An image index with no manifest for the wanted platform. */
  | 'NoMatchingPlatform'
  /** Any other unexpected answer from the registry (5xx, 400, unsupported operation). */
  | 'Registry';

export class OciError extends Error {
  readonly kind: OciErrorKind;
  /** HTTP status, when the registry answered. */
  readonly status: number | undefined;

  constructor(
    kind: OciErrorKind,
    message: string,
    opts: { status?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OciError';
    this.kind = kind;
    this.status = opts.status;
  }
}

export function isOciError(e: unknown, kind?: OciErrorKind): e is OciError {
  return e instanceof OciError && (kind === undefined || e.kind === kind);
}
