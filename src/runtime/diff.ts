import { isMap } from './objects.js';
/** Patches computed from two states of a JSON document. Pure functions. */

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * `desired` laid over `current`: desired values win, keys only `current` has stay (what the
 * apiserver defaulted), lists of the same length are laid over element by element and others
 * replaced. A mutate function for createOrPatch that writes nothing when nobody changed a
 * rendered field, and undoes a hand edit of one.
 */
export function overlay(current: unknown, desired: unknown): unknown {
  if (isMap(current) && isMap(desired)) {
    const out: Record<string, unknown> = { ...current };
    for (const [k, v] of Object.entries(desired)) {
      if (v !== undefined) out[k] = overlay(current[k], v);
    }
    return out;
  }
  if (Array.isArray(current) && Array.isArray(desired) && current.length === desired.length) {
    return desired.map((d, i) => overlay(current[i], d));
  }
  return structuredClone(desired);
}

/**
 * The JSON merge patch (RFC 7386) that turns `from` into `to`, or undefined when they are equal.
 * Arrays are replaced whole; removed keys become null.
 */
export function mergePatch(from: unknown, to: unknown): unknown {
  if (!isMap(from) || !isMap(to)) return deepEqual(from, to) ? undefined : (to ?? null);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(from)) {
    if (from[k] !== undefined && to[k] === undefined) out[k] = null;
  }
  for (const [k, v] of Object.entries(to)) {
    if (v === undefined) continue;
    const d = mergePatch(from[k], v);
    if (d !== undefined) out[k] = d;
  }
  return Object.keys(out).length ? out : undefined;
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

/** RFC 6901 escaping of one path segment. */
function pointerSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * A JSON patch (RFC 6902) that turns `from` into `to`: objects are compared key by key, arrays
 * that differ are replaced whole (what admission webhooks usually send).
 */
export function jsonPatch(from: unknown, to: unknown, path = ''): JsonPatchOp[] {
  if (deepEqual(from, to)) return [];
  if (isMap(from) && isMap(to)) {
    const ops: JsonPatchOp[] = [];
    for (const k of Object.keys(from)) {
      if (from[k] !== undefined && to[k] === undefined) {
        ops.push({ op: 'remove', path: `${path}/${pointerSegment(k)}` });
      }
    }
    for (const [k, v] of Object.entries(to)) {
      if (v === undefined) continue;
      const p = `${path}/${pointerSegment(k)}`;
      if (from[k] === undefined) ops.push({ op: 'add', path: p, value: v });
      else ops.push(...jsonPatch(from[k], v, p));
    }
    return ops;
  }
  return [{ op: 'replace', path, value: to }];
}
