import { isMap } from '../../runtime/objects.js';
/**
 * Typed reading of objects that may come from anywhere (a YAML file, an AdmissionReview): every
 * accessor names the field when the value has the wrong type, so the checks that follow can
 * assume the shapes they read.
 */

/** One problem with an object: the field at fault and what to do about it. */
export interface FieldError {
  /** Path from the object root, e.g. `spec.moduleLoader.container.kernelMappings[1].regexp`. */
  field: string;
  message: string;
}

export type Obj = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a map' : `the ${typeof v} ${JSON.stringify(v)}`;
}

/** Collects the errors of one object. */
export class Errors {
  readonly list: FieldError[] = [];

  add(field: string, message: string): void {
    this.list.push({ field, message });
  }

  /** The map at `parent[key]`; undefined (and an error unless absent) otherwise. */
  obj(parent: Obj, key: string, field: string): Obj | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (!isMap(v)) {
      this.add(field, `must be a map, not ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  str(parent: Obj, key: string, field: string): string | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.add(field, `must be a string, not ${describe(v)}; quote it`);
      return undefined;
    }
    return v;
  }

  array(parent: Obj, key: string, field: string): unknown[] | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.add(field, `must be a list, not ${describe(v)}`);
      return undefined;
    }
    return v as unknown[];
  }

  /** A list of strings; entries of another type are reported and left out. */
  strings(parent: Obj, key: string, field: string): string[] | undefined {
    const v = this.array(parent, key, field);
    if (!v) return undefined;
    const out: string[] = [];
    v.forEach((s, i) => {
      if (typeof s === 'string') out.push(s);
      else this.add(`${field}[${i}]`, `must be a string, not ${describe(s)}`);
    });
    return out;
  }

  /** A list of maps; entries of another type are reported and left out (indexes kept). */
  objs(parent: Obj, key: string, field: string): (Obj | undefined)[] | undefined {
    const v = this.array(parent, key, field);
    if (!v) return undefined;
    return v.map((o, i) => {
      if (isMap(o)) return o;
      this.add(`${field}[${i}]`, `must be a map, not ${describe(o)}`);
      return undefined;
    });
  }
}

/** `field: message` lines joined for one admission answer or one CLI line. */
export function formatErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}
