import { RE2JS } from 're2js';
import { FieldError } from './errors.js';
import { MATCH_OPS, type MatchOp } from './types.js';
import { compareVersions, parseVersion, type Version } from './version.js';

/**
 * A match expression compiled once: operands parsed, regexes compiled. `test` evaluates it
 * against one input: `present` says whether the key exists, `value` is its value (undefined for
 * flag features and names, which have none).
 */
export interface CompiledExpression {
  readonly op: MatchOp;
  /** Only the integer/version comparisons can fail on a node's value; the others never throw. */
  readonly canFail?: boolean;
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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/** Reads and checks the `value` list: strings only, as the CRD schema requires. */
function readValues(raw: unknown, field: string): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    throw new FieldError(
      'InvalidRule',
      `${field}.value`,
      `must be a list of strings, not ${describe(raw)}`,
    );
  }
  return raw.map((v, i) => {
    if (typeof v !== 'string') {
      throw new FieldError(
        'InvalidRule',
        `${field}.value[${i}]`,
        `must be a string; quote it in YAML ("${String(v)}")`,
      );
    }
    return v;
  });
}

type Comparable = number | Version;

function cmp(a: Comparable, b: Comparable): number {
  if (typeof a === 'number') return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  return compareVersions(a, b as Version);
}

/**
 * Compiles one match expression (`{op, value, type}`). Malformed expressions — unknown operator,
 * wrong number of values, a value that is not an integer (or version) for the comparison
 * operators, bounds in the wrong order, a regex that does not compile — are rejected here,
 * whatever the node's features, so a broken rule is reported on every node rather than only on
 * the nodes where evaluation happens to reach it.
 */
export function compileExpression(raw: unknown, field: string): CompiledExpression {
  if (!isRecord(raw)) {
    throw new FieldError(
      'InvalidRule',
      field,
      `must be an object {op, value}, not ${describe(raw)}`,
    );
  }
  const opRaw = raw['op'];
  if (typeof opRaw !== 'string' || !OPS.has(opRaw)) {
    throw new FieldError(
      'InvalidRule',
      `${field}.op`,
      `invalid operator ${describe(opRaw)}; use one of ${[...OPS].join(', ')}`,
    );
  }
  const op = opRaw as MatchOp;
  const values = readValues(raw['value'], field);
  const type = raw['type'];
  if (type !== undefined && type !== null && type !== '' && type !== 'version') {
    throw new FieldError(
      'InvalidRule',
      `${field}.type`,
      `must be "version" or empty, not ${describe(type)}`,
    );
  }
  const isVersion = type === 'version';
  const [min, max] = ARITY[op];
  if (values.length < min || values.length > max) {
    const want =
      max === 0
        ? 'must be empty'
        : max === Infinity
          ? 'must have at least one element'
          : `must have exactly ${max === 1 ? 'one element' : 'two elements'}`;
    throw new FieldError(
      'InvalidRule',
      `${field}.value`,
      `${want} for op ${op} (have ${describe(values)})`,
    );
  }

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
      const regexes = values.map((v, i) => {
        try {
          return RE2JS.compile(v);
        } catch (e) {
          throw new FieldError(
            'InvalidRule',
            `${field}.value[${i}]`,
            `invalid regular expression ${describe(v)}: ${(e as Error).message} (RE2 syntax)`,
          );
        }
      });
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
      const bounds = values.map((v, i) => {
        const n = parse(v);
        if (n === undefined) {
          throw new FieldError(
            'InvalidRule',
            `${field}.value[${i}]`,
            `${describe(v)} is not ${what}`,
          );
        }
        return n;
      });
      // Upstream checks bound order for integers only; a version range is taken as given.
      if (bounds.length === 2 && !isVersion && cmp(bounds[0]!, bounds[1]!) >= 0) {
        throw new FieldError(
          'InvalidRule',
          `${field}.value`,
          `value[0] must be less than value[1] for op ${op} (have ${describe(values)})`,
        );
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
