import { fieldPath } from '../../runtime/quote.js';
/**
 * Failures of kernel mapping, as values. A controller turns `NoMatch` into "this node's kernel is
 * not supported by the Module" and the other kinds into an invalid-Module condition.
 */
export type KernelMappingErrorKind =
  /** No entry of `kernelMappings` matches the kernel. */
  | 'NoMatch'
  /** The Module cannot be mapped as written: bad regexp, no image, unclosed `${`, … */
  | 'InvalidModule'
  /** The kernel string is not a kernel release (at least X.Y.Z). */
  | 'InvalidKernelVersion';

export class KernelMappingError extends Error {
  readonly kind: KernelMappingErrorKind;
  /** Path of the field at fault, e.g. `spec.moduleLoader.container.kernelMappings[1].regexp`. */
  readonly field: string;
  /** The message without the field path, for callers that name the field their own way. */
  readonly detail: string;

  constructor(kind: KernelMappingErrorKind, field: string, detail: string) {
    super(`${fieldPath(field)}: ${detail}`);
    this.name = 'KernelMappingError';
    this.kind = kind;
    this.field = field;
    this.detail = detail;
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: KernelMappingError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T>(kind: KernelMappingErrorKind, field: string, message: string): Result<T> {
  return { ok: false, error: new KernelMappingError(kind, field, message) };
}
