import type { RE2JS } from 're2js';
import { FieldError } from './errors.js';
import { re2 } from '../../api/re2.js';
import { MATCH_OPS, type MatchExpression, type MatchOp } from './types.js';
import { compareVersions, parseVersion, type Version } from './version.js';
import { boundedMessage, DecodeError, decode } from '../../api/decode.js';
import type { Static, TSchema } from '../../api/schema.js';
import { MatchExpression as MatchExpressionSchema } from '../../api/nfd-rule.js';

/**
 * A match expression compiled once: operands parsed, regexes compiled. `test` evaluates it
 * against one input: `present` says whether the key exists, `value` is its value (undefined for
 * flag features and names, which have none).
 */
export interface CompiledExpression {
  /** The operator as written; `''` is upstream's "any" (always true). */
  readonly op: MatchOp | '';
  /** Only the integer/version comparisons and malformed expressions can fail on a node. */
  readonly canFail?: boolean;
  /**
   * What is wrong with the expression. Upstream reports it only when evaluation reaches the
   * expression (with a value to test, for most problems), so `test` throws it there and
   * nowhere else; the rule compiler returns it as a warning.
   */
  readonly problem?: FieldError;
  test(present: boolean, value: string | undefined): boolean;
}

const OPS: ReadonlySet<string> = new Set<string>(MATCH_OPS);

/** How many operands each operator takes: [min, max]. */
const ARITY: Record<MatchOp, [number, number]> = {
  In: [1, Infinity],
  NotIn: [1, Infinity],
  InRegexp: [1, Infinity],
  Exists: [0, 0],
  DoesNotExist: [0, 0],
  Gt: [1, 1],
  Ge: [1, 1],
  Lt: [1, 1],
  Le: [1, 1],
  GtLt: [2, 2],
  GeLe: [2, 2],
  IsTrue: [0, 0],
  IsFalse: [0, 0],
};

/** Go's strconv.Atoi accepts an optional sign and decimal digits, nothing else. */
const INT_RE = /^[+-]?\d+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Parses an integer as Atoi does: values outside int64 are errors. Values beyond 2^53 are
 * compared as the nearest double, which no real feature value reaches.
 */
export function parseGoInt(s: string): number | undefined {
  if (!INT_RE.test(s)) return undefined;
  if (s.length > 15) {
    const b = BigInt(s);
    if (b < INT64_MIN || b > INT64_MAX) return undefined;
  }
  return Number(s);
}

/** Per-expression memo of results by input value; bounded, cleared when full. */
const MEMO_LIMIT = 4096;

/** A value as JSON for a message, cut as a quoted value is: a value list may be huge. */
function describe(v: unknown): string {
  return boundedMessage(JSON.stringify(v) ?? String(v), 128);
}

/**
 * Reads part of a rule against the API's schema, for what the apiserver would refuse (a map
 * where a list belongs, a value that is not a string). Fields the schema requires are left to
 * the engine: an empty `op` is upstream's "any", and a missing name or feature is worded there.
 * Throws a FieldError (kind InvalidRule) naming the field.
 */
export function readAs<T extends TSchema>(schema: T, raw: unknown, at: string): Static<T> {
  try {
    return decode(schema, raw, { at, required: false });
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    const p = e.problem;
    // An enum (an operator, a taint effect) that is not a string: say which values it takes.
    const values = p?.kind === 'type' ? p.schema['enum'] : undefined;
    const detail = Array.isArray(values)
      ? `must be a string; use one of ${values.join(', ')}`
      : e.detail;
    throw new FieldError('InvalidRule', e.path, detail);
  }
}

type Comparable = number | Version;

function cmp(a: Comparable, b: Comparable): number {
  if (typeof a === 'number') return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  return compareVersions(a, b as Version);
}

/**
 * An expression with a problem. Upstream checks an operator and the values of Exists and
 * DoesNotExist whenever it evaluates the expression; everything else only when there is a value
 * to test (not for a missing key, not on a flag feature).
 */
function deferred(op: MatchOp | '', problem: FieldError, always: boolean): CompiledExpression {
  return {
    op,
    canFail: true,
    problem,
    test: (present, v) => {
      if (always || (present && v !== undefined)) throw problem;
      return false;
    },
  };
}

const COMPARISONS: ReadonlySet<string> = new Set(['Gt', 'Ge', 'Lt', 'Le', 'GtLt', 'GeLe']);

/**
 * Compiles one match expression (`{op, value, type}`). A shape the API would refuse (not an
 * object, values that are not a list of strings) throws. Other mistakes — an unknown operator,
 * the wrong number of values, an operand that is not an integer (or version), bounds in the
 * wrong order, a regex that does not compile — are what upstream reports only when evaluation
 * reaches the expression: the result carries them as `problem` and throws them there, so a
 * rule that works upstream (the key is missing, the feature is a flag, an earlier `matchAny`
 * element matched) works here too.
 */
export function compileExpression(raw: unknown, field: string): CompiledExpression {
  return compileMatchExpression(readAs(MatchExpressionSchema, raw, field), field);
}

/** Compiles an expression read by readExpression (see compileExpression). */
export function compileMatchExpression(e: MatchExpression, field: string): CompiledExpression {
  const opRaw: string = e.op ?? '';
  const values = e.value ?? [];
  const type: string | undefined = e.type;
  if (opRaw !== '' && !OPS.has(opRaw)) {
    const p = new FieldError(
      'InvalidRule',
      `${field}.op`,
      `invalid operator ${describe(opRaw)}; use one of ${[...OPS].join(', ')}`,
    );
    return deferred('', p, true);
  }
  const op = opRaw as MatchOp | '';
  // Upstream's "any" (an empty or missing op): always true.
  const min = op === '' ? 0 : ARITY[op][0];
  const max = op === '' ? 0 : ARITY[op][1];
  if (values.length < min || values.length > max) {
    const want =
      max === 0
        ? 'must be empty'
        : max === Infinity
          ? 'must have at least one element'
          : `must have exactly ${max === 1 ? 'one element' : 'two elements'}`;
    const p = new FieldError(
      'InvalidRule',
      `${field}.value`,
      `${want} for op ${op || '"" (any)'} (have ${describe(values)})`,
    );
    return deferred(op, p, op === '' || op === 'Exists' || op === 'DoesNotExist');
  }
  if (op === '') return { op, test: () => true };
  if (COMPARISONS.has(op) && type && type !== 'version') {
    const p = new FieldError(
      'InvalidRule',
      `${field}.type`,
      `must be "version" or empty for op ${op}, not ${describe(type)}`,
    );
    return deferred(op, p, false);
  }
  const isVersion = type === 'version';

  switch (op) {
    case 'Exists':
      return { op, test: (present) => present };
    case 'DoesNotExist':
      return { op, test: (present) => !present };
    case 'IsTrue':
      return { op, test: (present, v) => present && v === 'true' };
    case 'IsFalse':
      return { op, test: (present, v) => present && v === 'false' };
    case 'In':
    case 'NotIn': {
      const set = new Set(values);
      const want = op === 'In';
      return {
        op,
        test: (present, v) => present && v !== undefined && set.has(v) === want,
      };
    }
    case 'InRegexp': {
      const regexes: RE2JS[] = [];
      for (const [i, v] of values.entries()) {
        try {
          regexes.push(re2().compile(v));
        } catch (e) {
          const p = new FieldError(
            'InvalidRule',
            `${field}.value[${i}]`,
            `invalid regular expression ${describe(v)}: ${boundedMessage((e as Error).message)} (RE2 syntax)`,
          );
          return deferred(op, p, false);
        }
      }
      const memo = new Map<string, boolean>();
      return {
        op,
        test: (present, v) => {
          if (!present || v === undefined) return false;
          let hit = memo.get(v);
          if (hit === undefined) {
            hit = regexes.some((re) => re.test(v));
            if (memo.size >= MEMO_LIMIT) memo.clear();
            memo.set(v, hit);
          }
          return hit;
        },
      };
    }
    default: {
      const parse = (s: string): Comparable | undefined =>
        isVersion ? parseVersion(s) : parseGoInt(s);
      const what = isVersion ? 'a version (MAJOR[.MINOR[.PATCH]])' : 'an integer';
      const bounds: Comparable[] = [];
      for (const [i, v] of values.entries()) {
        const n = parse(v);
        if (n === undefined) {
          const p = new FieldError(
            'InvalidRule',
            `${field}.value[${i}]`,
            `${describe(v)} is not ${what}`,
          );
          return deferred(op, p, false);
        }
        bounds.push(n);
      }
      // Upstream checks bound order for integers only; a version range is taken as given.
      if (bounds.length === 2 && !isVersion && cmp(bounds[0]!, bounds[1]!) >= 0) {
        const p = new FieldError(
          'InvalidRule',
          `${field}.value`,
          `value[0] must be less than value[1] for op ${op} (have ${describe(values)})`,
        );
        return deferred(op, p, false);
      }
      const lo = bounds[0]!;
      const hi = bounds[1]!;
      const accept: (x: Comparable) => boolean =
        op === 'Gt'
          ? (x) => cmp(x, lo) > 0
          : op === 'Ge'
            ? (x) => cmp(x, lo) >= 0
            : op === 'Lt'
              ? (x) => cmp(x, lo) < 0
              : op === 'Le'
                ? (x) => cmp(x, lo) <= 0
                : op === 'GtLt'
                  ? (x) => cmp(x, lo) > 0 && cmp(x, hi) < 0
                  : (x) => cmp(x, lo) >= 0 && cmp(x, hi) <= 0;
      // Results are memoised per value: nodes repeat the same kernel versions and counts.
      const memo = new Map<string, boolean>();
      return {
        op,
        canFail: true,
        test: (present, v) => {
          if (!present || v === undefined) return false;
          const hit = memo.get(v);
          if (hit !== undefined) return hit;
          const x = parse(v);
          if (x === undefined) {
            throw new FieldError(
              'EvaluationFailed',
              field,
              `feature value ${describe(v)} is not ${what}`,
            );
          }
          const r = accept(x);
          if (memo.size >= MEMO_LIMIT) memo.clear();
          memo.set(v, r);
          return r;
        },
      };
    }
  }
}
