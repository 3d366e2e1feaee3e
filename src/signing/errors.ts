/** Failures of module signing, by what the caller would do about them. */
export type SigningErrorKind =
  /** The module is not a kernel module, is truncated, or its signature trailer is damaged. */
  | 'invalid-module'
  /** The private key cannot be read, is encrypted without a passphrase, or is of a wrong type. */
  | 'invalid-key'
  /** The certificate is not a DER or PEM X.509 certificate. */
  | 'invalid-certificate'
  /** The private key does not belong to the certificate. */
  | 'key-mismatch'
  /** An option the kernel cannot use, e.g. an unknown hash algorithm. */
  | 'invalid-option'
  /** xz or zstd is missing or failed, or compressed data is damaged. */
  | 'compression'
  /** Reading or writing a file failed. */
  | 'io';

/**
 * A signing failure. Messages say what is wrong and the fix, name the file when there is one,
 * and never carry private key material (errors from key parsing are replaced, not wrapped).
 */
export class SigningError extends Error {
  readonly kind: SigningErrorKind;
  readonly file: string | undefined;

  constructor(kind: SigningErrorKind, message: string, file?: string) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'SigningError';
    this.kind = kind;
    this.file = file;
  }
}

export function isSigningError(e: unknown, kind?: SigningErrorKind): e is SigningError {
  return e instanceof SigningError && (kind === undefined || e.kind === kind);
}
