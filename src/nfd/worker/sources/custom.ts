/**
 * custom: labels from rules — the built-in RDMA rules, then `sources.custom` from the config,
 * then the files in `custom.d` (and its first-level subdirectories, where ConfigMaps are often
 * mounted). Rules are evaluated by the NodeFeatureRule engine over the features every other
 * source found; each rule sees the labels and vars of the rules before it as `rule.matched`.
 * Labels are published as written.
 */
import { statSync } from 'node:fs';
import { ConfigError } from '../config.js';
import { join, listDir, readText } from '../hostfs.js';
import { type DiscoverContext, registerSource } from '../source.js';
import type { Features } from '../types.js';
import { legacyKconfig } from './kernel.js';
import { BUILTIN_RULES, type CustomRule, CustomRuleError, toCustomRule } from './custom-rules.js';
import { quoteValue } from '../../../runtime/quote.js';

type RulesModule = typeof import('../../rules/index.js');
let rulesModule: Promise<RulesModule> | undefined;
/** The engine (and its regex library) loads on first use, keeping start-up light. */
function loadRules(): Promise<RulesModule> {
  rulesModule ??= import('../../rules/index.js');
  return rulesModule;
}

/**
 * Converts and compiles `rules`, throwing a ConfigError that names `<field>[i].<key>` for the
 * first rule that is malformed.
 */
export async function checkCustomRules(rules: unknown[], field: string): Promise<CustomRule[]> {
  const { compileRule, RuleError } = await loadRules();
  return rules.map((raw, i) => {
    const f = `${field}[${i}]`;
    try {
      const c = toCustomRule(raw);
      compileRule(c.rule);
      return c;
    } catch (e) {
      if (e instanceof CustomRuleError)
        throw new ConfigError(e.field ? `${f}.${e.field}` : f, e.detail);
      if (e instanceof RuleError) throw new ConfigError(e.field ? `${f}.${e.field}` : f, e.detail);
      throw e;
    }
  });
}

/** Rule files of `custom.d`: its files and those of its direct subdirectories, hidden ones skipped. */
function customRuleFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of listDir(dir) ?? []) {
    if (name.startsWith('.')) continue;
    const p = join(dir, name);
    let isDirectory = false;
    try {
      isDirectory = statSync(p).isDirectory();
    } catch {
      continue;
    }
    if (!isDirectory) {
      out.push(p);
      continue;
    }
    for (const sub of listDir(p) ?? []) {
      if (sub.startsWith('.')) continue;
      const sp = join(p, sub);
      try {
        if (statSync(sp).isFile()) out.push(sp);
      } catch {
        // Vanished between listing and reading: nothing to load.
      }
    }
  }
  return out;
}

async function loadCustomDir(ctx: DiscoverContext): Promise<CustomRule[]> {
  const files = customRuleFiles(ctx.paths.customDir);
  if (!files.length) return [];
  const { parseDocument } = await import('yaml');
  const out: CustomRule[] = [];
  for (const file of files) {
    const text = readText(file);
    if (text === undefined) continue;
    const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: true });
    if (doc.errors.length) {
      ctx.warn(`${file}: not valid YAML (${doc.errors[0]!.message.split('\n')[0]}); file skipped`);
      continue;
    }
    const list: unknown = doc.toJS();
    if (list === '' || list === null) continue;
    if (!Array.isArray(list)) {
      ctx.warn(`${file}: must be a list of rules; file skipped`);
      continue;
    }
    try {
      out.push(...(await checkCustomRules(list, 'rules')));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // A broken file is skipped whole, as upstream does; the others still apply.
      ctx.warn(`${file}: ${e.message}; file skipped`);
    }
  }
  return out;
}

function withAttribute(f: Features, key: string, elements: Record<string, string>): Features {
  return { ...f, attributes: { ...f.attributes, [key]: { elements } } };
}

async function customLabels(ctx: DiscoverContext): Promise<Record<string, string>> {
  const { executeRule, RULE_BACKREF_FEATURE } = await loadRules();
  const configured: CustomRule[] = [];
  ctx.config.sources.custom.forEach((raw, i) => {
    try {
      configured.push(toCustomRule(raw));
    } catch (e) {
      if (!(e instanceof CustomRuleError)) throw e;
      ctx.warn(`sources.custom[${i}].${e.field}: ${e.detail}; rule skipped`);
    }
  });
  const rules: CustomRule[] = [
    ...BUILTIN_RULES.map((rule) => ({ rule, legacy: false })),
    ...configured,
    ...(await loadCustomDir(ctx)),
  ];
  const labels: Record<string, string> = {};
  const matched: Record<string, string> = {};
  // The legacy form's view of the kernel config, built only when a legacy rule needs it.
  let legacyConfig: Record<string, string> | undefined;
  for (const { rule, legacy } of rules) {
    let features = withAttribute(ctx.features, RULE_BACKREF_FEATURE, { ...matched });
    if (legacy) {
      legacyConfig ??= legacyKconfig(ctx.features.attributes['kernel.config']?.elements ?? {});
      features = withAttribute(features, 'kernel.config', legacyConfig);
    }
    try {
      const out = executeRule(rule, features);
      Object.assign(labels, out.labels);
      Object.assign(matched, out.labels, out.vars);
    } catch (e) {
      ctx.warn(`custom rule ${quoteValue(rule.name)}: ${(e as Error).message}`);
    }
  }
  return labels;
}

registerSource({
  name: 'custom',
  // After every source whose features the rules read.
  order: 100,
  rawLabels: true,
  discover: () => ({}),
  labels: (_own, ctx) => customLabels(ctx),
});
