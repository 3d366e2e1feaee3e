/**
 * Reads a document that may come from anywhere (a YAML file, a config annotation, the apiserver)
 * against the schema its type comes from (see schema.ts), so that code past this point can
 * trust the shape it reads. One walk of the schema serves every kind: custom resources and the
 * configuration files that reuse their parts.
 *
 * It checks shapes only — maps, lists, strings, booleans, numbers, required fields and, when
 * asked, unknown fields. Value constraints (lengths, patterns, enums, CEL rules) stay with the
 * apiserver and with the validators, which word them for their field.
 *
 * A null field counts as absent, as `key:` with nothing after it does in YAML; a null list item
 * is an error.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { isMap } from '../runtime/objects.js';

/** Whether a value is a plain map (a JSON object, not an array or null). */
export { isMap };
import { boundedMessage, describeValue as quoted, quoteValue } from '../runtime/quote.js';

/** A user's value quoted and cut, and a library's message cut, for a message (runtime/quote.ts). */
export { boundedMessage, quoteValue };

/**
 * What did not fit, for a caller that words it in its own terms: a value of the wrong type
 * (with the schema it had to fit), a field the schema does not declare (with those it does),
 * or a required field missing.
 */
export type DecodeProblem =
  | { kind: 'type'; schema: Readonly<Record<string, unknown>>; value: unknown }
  | { kind: 'unknown'; known: readonly string[] }
  | { kind: 'required' };

/** A document that does not fit its schema: `path` names the field, `detail` says the fix. */
export class DecodeError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
    readonly problem?: DecodeProblem,
  ) {
    super(path ? `${path}: ${detail}` : detail);
    this.name = 'DecodeError';
  }
}

export interface DecodeOptions {
  /** Prefixed to every path, e.g. `spec.moduleLoader.container` or `modprobe`. */
  at?: string;
  /** Whether fields the schema requires must be there (default true). */
  required?: boolean;
  /**
   * A field the schema does not declare is an error (`unknown field; known fields: …`), as
   * strict decoding of configuration files is upstream. By default such fields are kept.
   */
  strict?: boolean;
  /**
   * Scalars come as text, as YAML's failsafe schema reads them (so that `0200` stays a string):
   * a boolean field reads `true` or `false`, a number field a decimal number, and an empty
   * scalar counts as absent, as `key:` does.
   */
  text?: boolean;
}

type Node = Record<string, unknown>;

/**
 * A decoded value whose required fields may be missing: what `required: false` and decodeAll
 * give, as a document not yet applied may lack what the apiserver will insist on.
 */
export type Loose<T> = T extends readonly (infer U)[]
  ? Loose<U>[]
  : T extends object
    ? { [K in keyof T]?: Loose<T[K]> }
    : T;

interface ReadOptions extends DecodeOptions {
  /** Set by decodeAll: misfits are collected here instead of thrown. */
  errors?: DecodeError[];
}

/** A value read past in decodeAll: left out of its map, and its list left out whole. */
const MISFIT = Symbol('misfit');

function misfit(
  o: ReadOptions,
  path: string,
  detail: string,
  problem: DecodeProblem,
): typeof MISFIT {
  const e = new DecodeError(path, detail, problem);
  if (!o.errors) throw e;
  o.errors.push(e);
  return MISFIT;
}

/**
 * How a value is named in messages: `a map`, `a list`, `null`, `number 6.1`, `string "x"`;
 * a long string is cut (see quote.ts), as messages end up in logs, events and answers.
 */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined || typeof v === 'object') return quoted(v);
  return `${typeof v} ${quoted(v)}`;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** A value of the wrong type for `schema`. */
function mistyped(o: ReadOptions, schema: Node, v: unknown, path: string, fix: string) {
  return misfit(o, path, fix, { kind: 'type', schema, value: v });
}

/** A failsafe YAML scalar as the boolean or number its field holds; anything else as it is. */
function fromText(type: unknown, v: unknown): unknown {
  if (typeof v !== 'string') return v;
  if (type === 'boolean') return v === 'true' ? true : v === 'false' ? false : v;
  if ((type === 'integer' || type === 'number') && v.trim() !== '') {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  return v;
}

/** Checks `v` and returns it with null fields left out (lists and maps copied). */
function read(schema: Node, v: unknown, path: string, o: ReadOptions): unknown {
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (typeof v !== 'string' && typeof v !== 'number')
      return mistyped(o, schema, v, path, `must be a number or a string, not ${describeValue(v)}`);
    return v;
  }
  if (o.text) v = fromText(schema['type'], v);
  switch (schema['type']) {
    case 'object':
      return readObject(schema, v, path, o);
    case 'array': {
      if (!Array.isArray(v))
        return mistyped(o, schema, v, path, `must be a list, not ${describeValue(v)}`);
      const items = schema['items'] as Node | undefined;
      if (!items) return v;
      const out = v.map((x, i) => read(items, x, `${path}[${i}]`, o));
      return out.includes(MISFIT) ? MISFIT : out;
    }
    case 'string':
      if (typeof v !== 'string')
        return mistyped(o, schema, v, path, `must be a string, not ${describeValue(v)}; quote it`);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean')
        return mistyped(
          o,
          schema,
          v,
          path,
          `must be true or false (a boolean), not ${describeValue(v)}`,
        );
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v))
        return mistyped(o, schema, v, path, `must be an integer, not ${describeValue(v)}`);
      return v;
    case 'number':
      if (typeof v !== 'number')
        return mistyped(o, schema, v, path, `must be a number, not ${describeValue(v)}`);
      return v;
  }
  return v;
}

function readObject(schema: Node, v: unknown, path: string, o: ReadOptions): unknown {
  if (!isMap(v)) return mistyped(o, schema, v, path, `must be a map, not ${describeValue(v)}`);
  const props = schema['properties'] as Record<string, Node> | undefined;
  const values = schema['additionalProperties'];
  if (!props && !isMap(values)) return v;
  const strict = props && o.strict && schema['x-kubernetes-preserve-unknown-fields'] !== true;
  if (strict) {
    const known = Object.keys(props);
    for (const k of Object.keys(v))
      if (!Object.hasOwn(props, k))
        misfit(o, join(path, k), `unknown field; known fields: ${known.join(', ')}`, {
          kind: 'unknown',
          known,
        });
  }
  if (props && o.required !== false)
    for (const k of (schema['required'] as string[] | undefined) ?? [])
      if (v[k] == null || (o.text && v[k] === ''))
        misfit(o, join(path, k), 'required', { kind: 'required' });
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x == null || (o.text && x === '') || (strict && !Object.hasOwn(props, k))) continue;
    const s = props ? (Object.hasOwn(props, k) ? props[k] : undefined) : (values as Node);
    const r = s ? read(s, x, join(path, k), o) : x;
    // defineProperty, so that a key `__proto__` (JSON.parse keeps it) stays a plain field.
    if (r !== MISFIT)
      Object.defineProperty(out, k, {
        value: r,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return out;
}

/**
 * Checks `value` against `schema` and returns it typed, its null fields left out; throws a
 * DecodeError naming the first field that does not fit.
 */
export function decode<T extends TSchema>(
  schema: T,
  value: unknown,
  options: DecodeOptions = {},
): Static<T> {
  return read(schema, value, options.at ?? '', options);
}

/**
 * Reads on past the fields that do not fit, for checkers that report every problem at once:
 * returns the value with those fields left out (a list with an item that does not fit is left
 * out whole, so that indexes in later messages stay right; undefined when the value itself does
 * not fit), and one DecodeError per field that does not fit.
 */
export function decodeAll<T extends TSchema>(
  schema: T,
  value: unknown,
  options: DecodeOptions = {},
): { value: Loose<Static<T>> | undefined; errors: DecodeError[] } {
  const errors: DecodeError[] = [];
  const r = read(schema, value, options.at ?? '', { ...options, errors });
  return { value: r === MISFIT ? undefined : (r as Loose<Static<T>>), errors };
}
