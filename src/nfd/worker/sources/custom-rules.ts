/**
 * Custom rules as users write them in `sources.custom` and `custom.d`, turned into the
 * NodeFeatureRule rule shape that the rule engine (src/nfd/rules) evaluates. Two forms exist:
 *
 * - the legacy form of the seed: `{name, value?, matchOn: [{pciId, usbId, loadedKMod, cpuId,
 *   kConfig, nodename}, …]}` — the list is ORed, the keys of one element are ANDed, and the
 *   label is `custom-<name>` (or `<name>` when it has a `/`);
 * - the current form: a NodeFeatureRule rule (`matchFeatures`, `matchAny`, `labels`, …).
 *
 * Both accept upstream's shorthand for expressions: a scalar or a list means `In`, and a list of
 * names in place of a `matchExpressions` map means `Exists` for each name.
 */
import type { Rule } from '../../rules/index.js';
import { DecodeError, decode, isMap } from '../../../api/decode.js';
import { Rule as RuleSchema } from '../../../api/nfd-rule.js';

export class CustomRuleError extends Error {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'CustomRuleError';
  }
}

const LEGACY_KEYS = new Set(['name', 'value', 'matchOn']);

/** Legacy matcher key → the feature it reads. */
const LEGACY_FEATURES: Record<string, string> = {
  pciId: 'pci.device',
  usbId: 'usb.device',
  loadedKMod: 'kernel.loadedmodule',
  cpuId: 'cpu.cpuid',
  kConfig: 'kernel.config',
  nodename: 'system.name',
};

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** One expression: `x` → In [x]; `[x, y]` → In [x, y]; `{op, value}` as it is. */
function normalizeExpression(v: unknown, field: string): Record<string, unknown> {
  if (isScalar(v)) return { op: 'In', value: [String(v)] };
  if (Array.isArray(v)) {
    if (!v.every(isScalar)) throw new CustomRuleError(field, 'a list of values must hold scalars');
    return { op: 'In', value: v.map(String) };
  }
  if (isMap(v)) {
    const out: Record<string, unknown> = { ...v };
    if (isScalar(v.value)) out.value = [String(v.value)];
    return out;
  }
  throw new CustomRuleError(field, 'must be a value, a list of values or {op, value}');
}

/** An expression set: a list of names → each `Exists`; a map → each value normalized. */
function normalizeExpressionSet(v: unknown, field: string): Record<string, unknown> {
  if (Array.isArray(v)) {
    const out: Record<string, unknown> = {};
    v.forEach((n, i) => {
      if (!isScalar(n)) throw new CustomRuleError(`${field}[${i}]`, 'must be a name');
      out[String(n)] = { op: 'Exists' };
    });
    return out;
  }
  if (isMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) out[k] = normalizeExpression(e, `${field}.${k}`);
    return out;
  }
  throw new CustomRuleError(field, 'must be a map of name → expression, or a list of names');
}

function normalizeTerms(v: unknown, field: string): unknown {
  if (!Array.isArray(v)) return v;
  const terms: unknown[] = v;
  return terms.map((t, i) => {
    if (!isMap(t)) return t;
    const f = `${field}[${i}]`;
    const out: Record<string, unknown> = { ...t };
    if (
      t.matchExpressions !== undefined &&
      t.matchExpressions !== null &&
      t.matchExpressions !== ''
    )
      out.matchExpressions = normalizeExpressionSet(t.matchExpressions, `${f}.matchExpressions`);
    else delete out.matchExpressions;
    if (t.matchName !== undefined && t.matchName !== null && t.matchName !== '')
      out.matchName = normalizeExpression(t.matchName, `${f}.matchName`);
    else delete out.matchName;
    return out;
  });
}

/** A converted rule, and whether it must see legacy (`y`/`m` → `true`) kernel config values. */
export interface CustomRule {
  rule: Rule;
  legacy: boolean;
}

function legacyRule(raw: Record<string, unknown>): CustomRule {
  for (const k of Object.keys(raw)) {
    if (!LEGACY_KEYS.has(k))
      throw new CustomRuleError(k, 'unknown key in a matchOn rule; use name, value, matchOn');
  }
  const name = raw.name;
  if (typeof name !== 'string' || name === '') throw new CustomRuleError('name', 'is required');
  const value = raw.value === undefined || raw.value === '' ? 'true' : raw.value;
  if (!isScalar(value)) throw new CustomRuleError('value', 'must be a string');
  const matchOn = raw.matchOn ?? [];
  if (!Array.isArray(matchOn)) throw new CustomRuleError('matchOn', 'must be a list of matchers');
  const matchAny = matchOn.map((m, i) => {
    const f = `matchOn[${i}]`;
    if (!isMap(m))
      throw new CustomRuleError(f, `must be a map of ${Object.keys(LEGACY_FEATURES).join(', ')}`);
    const matchFeatures = Object.entries(m).map(([k, v]) => {
      const feature = LEGACY_FEATURES[k];
      if (!feature)
        throw new CustomRuleError(
          `${f}.${k}`,
          `unknown matcher; use ${Object.keys(LEGACY_FEATURES).join(', ')}`,
        );
      if (k === 'nodename') {
        // Node names are matched as regular expressions, as upstream forces for this matcher.
        const e = normalizeExpression(v, `${f}.${k}`);
        if (e.op === 'In') e.op = 'InRegexp';
        return { feature, matchExpressions: { nodename: e } };
      }
      return { feature, matchExpressions: normalizeExpressionSet(v, `${f}.${k}`) };
    });
    return { matchFeatures };
  });
  const label = name.includes('/') ? name : `custom-${name}`;
  const rule = { name, labels: { [label]: String(value) } } as Rule;
  if (matchAny.length) rule.matchAny = matchAny as Rule['matchAny'];
  return { rule, legacy: true };
}

/**
 * The shorthand expanded, a rule of the current form is read strictly against the API's Rule
 * schema, as upstream decodes the worker config: a misspelt key is an error, not a rule that
 * silently matches more than meant.
 */
function checkModern(rule: Record<string, unknown>): void {
  try {
    decode(RuleSchema, rule, { strict: true, required: false });
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    const p = e.problem;
    if (p?.kind !== 'unknown') throw new CustomRuleError(e.path, e.detail);
    const also = e.path in rule ? ' (or name, value, matchOn)' : '';
    throw new CustomRuleError(e.path, `unknown key; use ${p.known.join(', ')}${also}`);
  }
}

/**
 * Converts one user-written custom rule. Throws CustomRuleError naming the field at fault;
 * the rule engine's own checks (operators, value counts, regexes) run when it is compiled.
 */
export function toCustomRule(raw: unknown): CustomRule {
  if (!isMap(raw)) throw new CustomRuleError('', 'a rule must be a map with a name');
  if (Object.keys(raw).some((k) => k.toLowerCase() === 'matchon')) return legacyRule(raw);
  const out: Record<string, unknown> = { ...raw };
  if (raw.matchFeatures !== undefined)
    out.matchFeatures = normalizeTerms(raw.matchFeatures, 'matchFeatures');
  if (Array.isArray(raw.matchAny)) {
    const alternatives: unknown[] = raw.matchAny;
    out.matchAny = alternatives.map((e, i) =>
      isMap(e)
        ? { ...e, matchFeatures: normalizeTerms(e.matchFeatures, `matchAny[${i}].matchFeatures`) }
        : e,
    );
  }
  checkModern(out);
  // The rule engine checks the rest when it compiles the rule.
  return { rule: out as Rule, legacy: false };
}

/** The rules every worker applies before the configured ones (upstream's static rules). */
export const BUILTIN_RULES: Rule[] = [
  {
    name: 'RDMA capable static rule',
    labels: { 'rdma.capable': 'true' },
    matchFeatures: [
      { feature: 'pci.device', matchExpressions: { vendor: { op: 'In', value: ['15b3'] } } },
    ],
  },
  {
    name: 'RDMA available static rule',
    labels: { 'rdma.available': 'true' },
    matchFeatures: [
      {
        feature: 'kernel.loadedmodule',
        matchExpressions: { ib_uverbs: { op: 'Exists' }, rdma_ucm: { op: 'Exists' } },
      },
    ],
  },
];
