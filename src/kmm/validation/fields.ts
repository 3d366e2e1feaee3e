/**
 * The errors of one object. Shapes are read with the API's schemas (src/api/decode.ts), every
 * field of the wrong type reported at once and left out, so the checks that follow read typed
 * values.
 */
import { decodeAll, type Loose } from '../../api/decode.js';
import type { Static, TSchema } from '../../api/schema.js';

/** One problem with an object: the field at fault and what to do about it. */
export interface FieldError {
  /** Path from the object root, e.g. `spec.moduleLoader.container.kernelMappings[1].regexp`. */
  field: string;
  message: string;
}

/** Collects the errors of one object. */
export class Errors {
  readonly list: FieldError[] = [];

  add(field: string, message: string): void {
    this.list.push({ field, message });
  }

  /** `value` read against `schema`; fields that do not fit are reported and left out. */
  read<T extends TSchema>(schema: T, value: unknown, at: string): Loose<Static<T>> | undefined {
    const r = decodeAll(schema, value, { at, required: false });
    for (const e of r.errors) this.add(e.path, e.detail);
    return r.value;
  }

  /** Whether a problem at `field` or inside it is reported already (e.g. a wrong type). */
  reported(field: string): boolean {
    return this.list.some(
      (e) =>
        e.field === field || e.field.startsWith(`${field}.`) || e.field.startsWith(`${field}[`),
    );
  }

  /** Reports a missing value, unless the field is reported already (then it was not missing). */
  missing(field: string, message: string): void {
    if (!this.reported(field)) this.add(field, message);
  }
}

/** `field: message` lines joined for one admission answer or one CLI line. */
export function formatErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}
