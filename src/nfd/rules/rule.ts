import { FieldError, RuleError, type RuleWarning } from './errors.js';
import { type CompiledExpression, compileMatchExpression, readAs } from './expression.js';
import { type CompiledTemplate, compileTemplate, TemplateError } from './template/index.js';
import type { FeatureMatcherTerm, Features, Rule, RuleOutput, Taint } from './types.js';
import { isMap } from '../../api/decode.js';
import { Rule as RuleSchema } from '../../api/nfd-rule.js';

/** One matched element as templates see it: `{Name}`, `{Name, Value}` or an instance's attributes. */
type Element = Record<string, string>;
/** Template data: `.<domain>.<feature>` → matched elements. */
type MatchedFeatures = Record<string, Record<string, Element[]>>;

interface CompiledTerm {
  /** Lower-cased for lookup, as upstream does; templates keep the spelling of the rule. */
  feature: string;
  dom: string;
  nam: string;
  exprs: { key: string; protoKey: boolean; expr: CompiledExpression }[] | undefined;
  /** No expression of the term can fail on a node's value, so evaluation may stop early. */
  safe: boolean;
  name: CompiledExpression | undefined;
}

/** A rule compiled once: expressions, regexes and templates ready to run against many nodes. */
export interface CompiledRule {
  readonly name: string;
  readonly matchAny: CompiledTerm[][];
  readonly matchFeatures: CompiledTerm[];
  readonly labelsTemplate: CompiledTemplate | undefined;
  readonly varsTemplate: CompiledTemplate | undefined;
  readonly labels: Record<string, string>;
  readonly vars: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly extendedResources: Record<string, string>;
  readonly taints: Taint[];
  /** Mistakes that fail the rule only where evaluation reaches them (see RuleWarning). */
  readonly warnings: readonly RuleWarning[];
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/**
 * Whether `key` is an own property of a features map. Feature maps hold no undefined values, so
 * a plain read is exact (and much faster) unless the key names an Object.prototype member.
 */
function has(o: Record<string, unknown>, key: string, protoKey: boolean): boolean {
  return protoKey ? hasOwn(o, key) : o[key] !== undefined;
}

function invalid(field: string, detail: string): never {
  throw new FieldError('InvalidRule', field, detail);
}

/** Taints as the rule asks for them; the master's policy checks the effect. */
function taintList(v: Rule['taints'], field: string): Taint[] {
  return (v ?? []).map((t, i) => {
    const key = t.key ?? '';
    if (key === '') invalid(`${field}[${i}].key`, 'is required');
    const taint: Taint = { key, effect: t.effect ?? '' };
    if (t.value) taint.value = t.value;
    return taint;
  });
}

/** Compiles an expression, noting its deferred problem as a warning. */
function expression(
  e: Parameters<typeof compileMatchExpression>[0],
  field: string,
  problems: FieldError[],
): CompiledExpression {
  const c = compileMatchExpression(e, field);
  if (c.problem) problems.push(c.problem);
  return c;
}

function compileTerms(
  v: FeatureMatcherTerm[] | undefined,
  field: string,
  problems: FieldError[],
): CompiledTerm[] {
  return (v ?? []).map((t, i) => {
    const f = `${field}[${i}]`;
    const feature = t.feature ?? '';
    if (feature === '') invalid(`${f}.feature`, 'must name a feature, e.g. kernel.loadedmodule');
    const dot = feature.indexOf('.');
    const exprs: CompiledTerm['exprs'] = t.matchExpressions
      ? Object.entries(t.matchExpressions).map(([key, e]) => ({
          key,
          protoKey: key in Object.prototype,
          expr: expression(e, `${f}.matchExpressions.${key}`, problems),
        }))
      : undefined;
    const name = t.matchName ? expression(t.matchName, `${f}.matchName`, problems) : undefined;
    return {
      feature: feature.toLowerCase(),
      dom: dot < 0 ? feature.toLowerCase() : feature.slice(0, dot),
      nam: dot < 0 ? '' : feature.slice(dot + 1),
      exprs,
      safe: (exprs ?? []).every((e) => !e.expr.canFail),
      name,
    };
  });
}

/**
 * A template that does not parse fails the rule only when the rule matches, as upstream parses
 * templates then; until then it is a warning.
 */
function compileTemplateField(
  src: string | undefined,
  field: string,
  problems: FieldError[],
): CompiledTemplate | undefined {
  if (!src) return undefined;
  try {
    return compileTemplate(src);
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    const problem = new FieldError('InvalidRule', field, `invalid template: ${e.message}`);
    problems.push(problem);
    const fail = (): never => {
      throw problem;
    };
    return { render: fail, expandMap: fail };
  }
}

function ruleName(raw: unknown): string {
  return isMap(raw) && typeof raw['name'] === 'string' ? raw['name'] : '';
}

/**
 * Compiles one rule (a Rule, or a document not checked yet). Throws a RuleError (kind
 * InvalidRule) naming the field when the rule does not fit the API's schema or has no name.
 */
export function compileRule(raw: unknown): CompiledRule {
  const name = ruleName(raw);
  try {
    const rule = readAs(RuleSchema, raw, '');
    if (!rule.name) invalid('name', 'is required');
    const problems: FieldError[] = [];
    return {
      name,
      matchAny: (rule.matchAny ?? []).map((elem, i) =>
        compileTerms(elem.matchFeatures, `matchAny[${i}].matchFeatures`, problems),
      ),
      matchFeatures: compileTerms(rule.matchFeatures, 'matchFeatures', problems),
      labelsTemplate: compileTemplateField(rule.labelsTemplate, 'labelsTemplate', problems),
      varsTemplate: compileTemplateField(rule.varsTemplate, 'varsTemplate', problems),
      labels: { ...rule.labels },
      vars: { ...rule.vars },
      annotations: { ...rule.annotations },
      extendedResources: { ...rule.extendedResources },
      taints: taintList(rule.taints, 'taints'),
      warnings: problems.map((p) => ({ rule: name, field: p.field, detail: p.detail })),
    };
  } catch (e) {
    if (e instanceof FieldError) throw new RuleError(e.kind, name, e.field, e.detail);
    throw e;
  }
}

/** Flag and attribute features are matched as a union; instances one instance at a time. */
function matchExpressions(
  exprs: NonNullable<CompiledTerm['exprs']>,
  safe: boolean,
  flags: Record<string, object> | undefined,
  attrs: Record<string, string> | undefined,
  instances: { attributes: Record<string, string> }[] | undefined,
  out: Element[] | undefined,
): boolean {
  let kv = flags !== undefined || attrs !== undefined;
  const kvElems: Element[] | undefined = out ? [] : undefined;
  for (const { key, protoKey, expr } of exprs) {
    let matchK = false;
    let matchV = false;
    if (flags) {
      matchK = expr.test(has(flags, key, protoKey), undefined);
      if (matchK) kvElems?.push({ Name: key });
      else if (expr.op === 'DoesNotExist') {
        kv = false;
        break;
      }
    }
    if (attrs) {
      const present = has(attrs, key, protoKey);
      matchV = expr.test(present, present ? attrs[key] : undefined);
      // A key matched by DoesNotExist has the value "" in templates, as upstream.
      if (matchV) kvElems?.push({ Name: key, Value: present ? attrs[key]! : '' });
      else if (expr.op === 'DoesNotExist') {
        kv = false;
        break;
      }
    }
    if (!matchK && !matchV) {
      kv = false;
      break;
    }
  }
  if (out && kv && kvElems) {
    kvElems.sort((a, b) => (a['Name']! < b['Name']! ? -1 : a['Name']! > b['Name']! ? 1 : 0));
    out.push(...kvElems);
  }
  // Instances are evaluated even when flags/attributes matched, since an evaluation error there
  // fails the rule, as upstream; without elements to collect and with no expression that can
  // fail, the first hit decides.
  const early = !out && safe;
  if (early && kv) return true;
  let inst = false;
  if (instances) {
    for (const instance of instances) {
      if (early && inst) break;
      const a = instance.attributes ?? {};
      let all = true;
      for (const { key, protoKey, expr } of exprs) {
        const present = has(a, key, protoKey);
        if (!expr.test(present, present ? a[key] : undefined)) {
          all = false;
          break;
        }
      }
      if (all) {
        inst = true;
        out?.push(a);
      }
    }
  }
  return kv || inst;
}

function matchNames(
  expr: CompiledExpression,
  flags: Record<string, object> | undefined,
  attrs: Record<string, string> | undefined,
  instances: { attributes: Record<string, string> }[] | undefined,
  out: Element[] | undefined,
): boolean {
  let found = false;
  const named: Element[] = [];
  // Without elements to collect, the first hit decides, unless a later name could raise an
  // evaluation error (which upstream would report).
  const early = !out && !expr.canFail;
  if (flags) {
    for (const k in flags) {
      if (early && found) return true;
      if (expr.test(true, k)) {
        found = true;
        named.push({ Name: k });
      }
    }
  }
  if (attrs) {
    for (const k in attrs) {
      if (early && found) return true;
      if (expr.test(true, k)) {
        found = true;
        named.push({ Name: k, Value: attrs[k]! });
      }
    }
  }
  if (out) {
    named.sort((a, b) => (a['Name']! < b['Name']! ? -1 : a['Name']! > b['Name']! ? 1 : 0));
    out.push(...named);
  }
  if (instances) {
    for (const instance of instances) {
      const a = instance.attributes ?? {};
      let hit = false;
      for (const k in a) {
        if (expr.test(true, k)) {
          hit = true;
          if (!expr.canFail) break;
        }
      }
      if (hit) {
        found = true;
        if (early) return true;
        out?.push(a);
      }
    }
  }
  return found;
}

/** Evaluates ANDed terms; returns the matched elements per feature when `collect` is set. */
function evaluateTerms(
  terms: CompiledTerm[],
  features: Partial<Features>,
  collect: boolean,
): { matched: boolean; data: MatchedFeatures | undefined } {
  const data: MatchedFeatures | undefined = collect ? {} : undefined;
  for (const term of terms) {
    const fF = features.flags?.[term.feature];
    const fA = features.attributes?.[term.feature];
    const fI = features.instances?.[term.feature];
    if (fF === undefined && fA === undefined && fI === undefined) {
      return { matched: false, data: undefined };
    }
    const flags = fF?.elements ?? undefined;
    const attrs = fA?.elements ?? undefined;
    const instances = fI?.elements ?? undefined;
    const elems: Element[] | undefined = collect ? [] : undefined;
    let ok = true;
    if (term.exprs) ok = matchExpressions(term.exprs, term.safe, flags, attrs, instances, elems);
    if (ok && term.name) ok = matchNames(term.name, flags, attrs, instances, elems);
    if (data && elems) {
      const dom = (data[term.dom] ??= {});
      (dom[term.nam] ??= []).push(...elems);
    }
    if (!ok) return { matched: false, data: undefined };
  }
  return { matched: true, data };
}

function expand(
  rule: CompiledRule,
  tmpl: CompiledTemplate | undefined,
  field: string,
  data: MatchedFeatures | undefined,
  into: Record<string, string>,
): void {
  if (!tmpl) return;
  try {
    Object.assign(into, tmpl.expandMap(data ?? {}));
  } catch (e) {
    if (e instanceof TemplateError) {
      throw new RuleError(
        'EvaluationFailed',
        rule.name,
        field,
        `failed to expand template: ${e.message}`,
      );
    }
    throw e;
  }
}

/** The output of every rule that did not match; shared and frozen, so callers cannot alter it. */
const UNMATCHED: RuleOutput = Object.freeze({
  matched: false,
  labels: Object.freeze({}),
  annotations: Object.freeze({}),
  vars: Object.freeze({}),
  taints: Object.freeze([]) as unknown as Taint[],
  extendedResources: Object.freeze({}),
});

/**
 * Evaluates a compiled rule against one node's features, exactly as upstream's fail-fast
 * evaluation does. Throws a RuleError (kind EvaluationFailed) when evaluation fails. Every
 * unmatched result is the same frozen object: treat results as read-only.
 */
export function evaluateRule(rule: CompiledRule, features: Partial<Features>): RuleOutput {
  const labels: Record<string, string> = {};
  const vars: Record<string, string> = {};
  const templated = rule.labelsTemplate !== undefined || rule.varsTemplate !== undefined;
  try {
    if (rule.matchAny.length > 0) {
      let any = false;
      for (const terms of rule.matchAny) {
        const r = evaluateTerms(terms, features, templated);
        if (!r.matched) continue;
        any = true;
        // Without templates one match decides; with them every matching element contributes.
        if (!templated) break;
        expand(rule, rule.labelsTemplate, 'labelsTemplate', r.data, labels);
        expand(rule, rule.varsTemplate, 'varsTemplate', r.data, vars);
      }
      if (!any) return UNMATCHED;
    }
    if (rule.matchFeatures.length > 0) {
      const r = evaluateTerms(rule.matchFeatures, features, templated);
      if (!r.matched) return UNMATCHED;
      expand(rule, rule.labelsTemplate, 'labelsTemplate', r.data, labels);
      expand(rule, rule.varsTemplate, 'varsTemplate', r.data, vars);
    }
  } catch (e) {
    if (e instanceof FieldError) throw new RuleError(e.kind, rule.name, e.field, e.detail);
    throw e;
  }
  // Static labels and vars win over template output.
  Object.assign(labels, rule.labels);
  Object.assign(vars, rule.vars);
  return {
    matched: true,
    labels,
    vars,
    annotations: { ...rule.annotations },
    extendedResources: { ...rule.extendedResources },
    taints: rule.taints.map((t) => ({ ...t })),
  };
}

const compiledCache = new WeakMap<object, CompiledRule>();

/**
 * Evaluates one rule (NodeFeatureRule `spec.rules[]` item, or a custom-source rule) against
 * features (a feature type left out counts as empty, as in objects read from the API). The rule is compiled on first use and the compiled form is cached for the same
 * object. Throws a RuleError naming the rule and the field when the rule is malformed or its
 * evaluation fails.
 */
export function executeRule(rule: Rule, features: Partial<Features>): RuleOutput {
  let compiled = isMap(rule) ? compiledCache.get(rule) : undefined;
  if (!compiled) {
    compiled = compileRule(rule);
    if (isMap(rule)) compiledCache.set(rule, compiled);
  }
  const out = evaluateRule(compiled, features);
  return out === UNMATCHED
    ? { matched: false, labels: {}, annotations: {}, vars: {}, taints: [], extendedResources: {} }
    : out;
}
