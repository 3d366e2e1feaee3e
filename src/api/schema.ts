/**
 * A thin layer for Kubernetes custom resources, typed with TypeBox. Every builder returns a
 * plain JSON schema object typed as TypeBox's matching schema type, so `Static<typeof X>` is
 * the TypeScript type, and `openApiSchema(X)` is the structural OpenAPI v3 schema a
 * CustomResourceDefinition needs: one definition, two outputs. TypeBox is used for its types
 * only: nothing of it runs, so a program that reads documents against a few schemas (the
 * one-file nfd-worker) does not carry the library.
 *
 * Only constructs a CRD accepts are produced: every node has a `type` (or is int-or-string or
 * preserves unknown fields), maps are `additionalProperties`, enums are plain `enum` lists, and
 * there is no `anyOf`/`const`/`patternProperties`/`$ref`.
 */
import type {
  Static,
  TArray,
  TBoolean,
  TInteger,
  TObject,
  TOptional,
  TProperties,
  TSchema,
  TString,
  TUnknown,
  TUnsafe,
} from '@sinclair/typebox';

export type { Static, TSchema };

/** A CEL validation rule (x-kubernetes-validations). */
export interface CelRule {
  rule: string;
  /** Said when the rule fails (and when messageExpression cannot be evaluated). */
  message: string;
  /** A CEL string expression said instead of message, e.g. to name the offending value. */
  messageExpression?: string;
  /** JSONPath (from the node holding the rule) of the field the error is reported on. */
  fieldPath?: string;
  /**
   * How the apiserver words it. FieldValueInvalid (the default) prints the schema type
   * (`Invalid value: "object"`) before the message, so rules whose message says it all use
   * FieldValueForbidden or FieldValueRequired.
   */
  reason?:
    'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** The schema options a field may carry, in Kubernetes terms. */
export interface FieldOptions {
  description?: string;
  default?: unknown;
  nullable?: boolean;
  validations?: CelRule[];
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: readonly string[];
  mapType?: 'atomic' | 'granular';
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  minProperties?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
}

const KEYS: Record<string, string> = {
  validations: 'x-kubernetes-validations',
  listType: 'x-kubernetes-list-type',
  listMapKeys: 'x-kubernetes-list-map-keys',
  mapType: 'x-kubernetes-map-type',
};

/** Field options → schema keywords (the x-kubernetes-* spellings where Kubernetes has them). */
function kw(o: FieldOptions = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[KEYS[k] ?? k] = v;
  return out;
}

/**
 * Marks a property optional; `obj` leaves such properties out of `required`. A symbol key, as
 * TypeBox's own marker is, so spreading a schema keeps it and JSON drops it.
 */
const OPTIONAL = Symbol('optional');

/** Schema keywords typed as the TypeBox schema they are. */
function schema<T extends TSchema>(keywords: Record<string, unknown>): T {
  return keywords as T;
}

export const str = (o?: FieldOptions): TString => schema({ ...kw(o), type: 'string' });
export const bool = (o?: FieldOptions): TBoolean => schema({ ...kw(o), type: 'boolean' });
/** A 32-bit integer (Go int32 / int). */
export const int32 = (o?: FieldOptions): TInteger =>
  schema({ format: 'int32', ...kw(o), type: 'integer' });
export const int64 = (o?: FieldOptions): TInteger =>
  schema({ format: 'int64', ...kw(o), type: 'integer' });
/** An RFC 3339 timestamp (metav1.Time). */
export const time = (o?: FieldOptions): TString =>
  schema({ format: 'date-time', ...kw(o), type: 'string' });
/** Any value, unchecked (a list item that another checker reads, such as a custom rule). */
export const anyValue = (): TUnknown => schema({});

export const arr = <T extends TSchema>(items: T, o?: FieldOptions): TArray<T> =>
  schema({ ...kw(o), type: 'array', items });

/** A list of strings with no duplicates (the apiserver rejects repeats). */
export const stringSet = (o?: FieldOptions): TArray<TString> =>
  schema({ 'x-kubernetes-list-type': 'set', ...kw(o), type: 'array', items: str() });

/** An object schema; `required` lists the properties not marked by `opt`. */
function object<P extends TProperties>(props: P, keywords: Record<string, unknown>): TObject<P> {
  const required = Object.keys(props).filter((k) => !(OPTIONAL in props[k]!));
  return schema({
    ...keywords,
    type: 'object',
    ...(required.length ? { required } : {}),
    properties: props,
  });
}

export const obj = <P extends TProperties>(props: P, o?: FieldOptions): TObject<P> =>
  object(props, kw(o));

export const opt = <T extends TSchema>(s: T): TOptional<T> =>
  schema({ ...s, [OPTIONAL]: 'Optional' });

/** The same schema (validations included) with another description, for a field that reuses it. */
export const describedAs = <T extends TSchema>(s: T, description: string): T => ({
  ...s,
  description,
});

/**
 * A schema whose TypeScript type is `T`, for shapes the other builders do not spell (an enum, a
 * map, a value kept unchecked).
 */
export function unsafe<T>(keywords: Record<string, unknown>): TUnsafe<T> {
  return schema(keywords);
}

/** A string restricted to the given values. */
export function enumOf<const V extends readonly string[]>(
  values: V,
  o?: FieldOptions,
): TUnsafe<V[number]> {
  return unsafe({ type: 'string', enum: [...values], ...kw(o) });
}

/** A map from string keys to values of one schema (Go map[string]T). */
export function map<T extends TSchema>(
  values: T,
  o?: FieldOptions,
): TUnsafe<Record<string, Static<T>>> {
  return unsafe({ type: 'object', additionalProperties: values, ...kw(o) });
}

/** map[string]string, the shape of labels, selectors and annotations. */
export const stringMap = (o?: FieldOptions): TUnsafe<Record<string, string>> => map(str(), o);

/**
 * An object whose content the apiserver keeps without checking it. Used for large embedded
 * Kubernetes core types; the description of each such field says so.
 */
export function preserved<T = Record<string, unknown>>(o?: FieldOptions): TUnsafe<T> {
  return unsafe({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...kw(o) });
}

/**
 * An object with some declared properties whose other properties are kept unchecked (a
 * Volume: its `name` is checked, its volume source is not).
 */
export function openObj<P extends TProperties>(props: P, o?: FieldOptions): TObject<P> {
  return object(props, { 'x-kubernetes-preserve-unknown-fields': true, ...kw(o) });
}

/** resource.Quantity: a number or a string such as "2Gi" or "500m". */
export function quantity(o?: FieldOptions): TUnsafe<number | string> {
  return unsafe({
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern:
      '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
    'x-kubernetes-int-or-string': true,
    ...kw(o),
  });
}

/**
 * The schema as plain JSON, ready for a CRD's openAPIV3Schema: a JSON round trip drops the
 * optional marker (a symbol key). Keys are then sorted so that generated manifests are stable
 * and diff well.
 */
export function openApiSchema(s: TSchema): Record<string, unknown> {
  return sortKeys(JSON.parse(JSON.stringify(s))) as Record<string, unknown>;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
  return out;
}

/** Why a schema is not structural, as field paths with the problem; empty when it is. */
export function structuralProblems(s: unknown, path = ''): string[] {
  if (s === null || typeof s !== 'object' || Array.isArray(s))
    return [`${path || '.'}: not a schema`];
  const n = s as Record<string, unknown>;
  const out: string[] = [];
  for (const k of ['const', 'patternProperties', '$ref', '$id', 'oneOf', 'allOf', 'not'])
    if (k in n) out.push(`${path || '.'}: uses ${k}`);
  const intOrString = n['x-kubernetes-int-or-string'] === true;
  if ('anyOf' in n && !intOrString) out.push(`${path || '.'}: anyOf outside int-or-string`);
  if (!n.type && !intOrString && n['x-kubernetes-preserve-unknown-fields'] !== true)
    out.push(`${path || '.'}: no type`);
  if ('properties' in n && 'additionalProperties' in n)
    out.push(`${path || '.'}: both properties and additionalProperties`);
  for (const [k, child] of Object.entries((n.properties as Record<string, unknown>) ?? {}))
    out.push(...structuralProblems(child, `${path}.${k}`));
  if (n.items) out.push(...structuralProblems(n.items, `${path}[]`));
  if (n.additionalProperties && typeof n.additionalProperties === 'object')
    out.push(...structuralProblems(n.additionalProperties, `${path}.*`));
  return out;
}
