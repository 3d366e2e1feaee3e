import { parseAllDocuments } from 'yaml';
import {
  addDefaultNamespace,
  compileRules,
  type NodeFeatureRule,
  processRules,
  type Rule,
  type RuleFailure,
  type RuleSetWarning,
} from '../rules/index.js';
import {
  InvalidInputError,
  mergeNodeFeatures,
  type NodeFeatureObject,
  readNodeFeature,
} from './merge.js';
import { applyLabelPolicy, type LabelPolicy, type PolicyResult, type Rejection } from './policy.js';
import { decode, isMap } from '../../api/decode.js';
import { anyValue, arr, obj, opt, str, type Static } from '../../api/schema.js';

const NFD_GROUP_VERSIONS: readonly string[] = ['nfd.k8s-sigs.io/v1alpha1'];
/** The OpenShift operator also serves NodeFeatureRule under its own group; treated the same. */
const NFR_GROUP_VERSIONS: readonly string[] = ['nfd.k8s-sigs.io/v1alpha1', 'nfd.openshift.io/v1'];

/**
 * A NodeFeatureRule as far as this file reads it: its name and its list of rules. Each rule is
 * checked on its own when the set is compiled, so that one bad rule fails only itself.
 */
const RuleSetEnvelope = obj({
  metadata: opt(obj({ name: opt(str()) })),
  spec: opt(obj({ rules: arr(anyValue()) })),
});

export interface EvalInputs {
  nodeFeatures: NodeFeatureObject[];
  rules: NodeFeatureRule[];
}

/**
 * Reads NodeFeature and NodeFeatureRule objects from multi-document YAML (a `kind: List` is
 * unpacked). Throws InvalidInputError naming the file, document and field.
 */
export function parseObjects(text: string, source: string, into: EvalInputs): void {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const where = `${source}: document ${i + 1}`;
    if (doc.errors.length > 0) {
      throw new InvalidInputError(where, `invalid YAML: ${doc.errors[0]!.message}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const items =
      isMap(value) && value['kind'] === 'List' && Array.isArray(value['items'])
        ? (value['items'] as unknown[])
        : [value];
    items.forEach((item, j) => {
      const at = items.length > 1 || item !== value ? `${where}, items[${j}]` : where;
      addObject(item, at, into);
    });
  });
}

function addObject(obj: unknown, at: string, into: EvalInputs): void {
  if (!isMap(obj)) throw new InvalidInputError(at, 'must be a Kubernetes object (a map)');
  const kind = obj['kind'];
  const apiVersion = obj['apiVersion'];
  if (kind === 'NodeFeature') {
    if (!NFD_GROUP_VERSIONS.includes(String(apiVersion))) {
      throw new InvalidInputError(
        `${at}: apiVersion`,
        `must be ${NFD_GROUP_VERSIONS.join(' or ')} for NodeFeature, not ${JSON.stringify(apiVersion)}`,
      );
    }
    into.nodeFeatures.push(readNodeFeature(obj, `${at}: `));
  } else if (kind === 'NodeFeatureRule') {
    if (!NFR_GROUP_VERSIONS.includes(String(apiVersion))) {
      throw new InvalidInputError(
        `${at}: apiVersion`,
        `must be ${NFR_GROUP_VERSIONS.join(' or ')} for NodeFeatureRule, not ${JSON.stringify(apiVersion)}`,
      );
    }
    let nfr: Static<typeof RuleSetEnvelope>;
    try {
      nfr = decode(RuleSetEnvelope, obj, { required: false });
    } catch (e) {
      if (e instanceof InvalidInputError) throw new InvalidInputError(`${at}: ${e.path}`, e.detail);
      throw e;
    }
    const name = nfr.metadata?.name;
    if (!name) throw new InvalidInputError(`${at}: metadata.name`, 'is required');
    if (!nfr.spec?.rules)
      throw new InvalidInputError(`${at}: spec.rules`, 'must be a list of rules');
    // compileRules checks each rule and names the field at fault.
    into.rules.push({ metadata: { name }, spec: { rules: nfr.spec.rules as Rule[] } });
  } else {
    throw new InvalidInputError(
      `${at}: kind`,
      `expected NodeFeature or NodeFeatureRule, not ${JSON.stringify(kind)}`,
    );
  }
}

export interface EvalResult {
  output: Omit<PolicyResult, 'rejected'>;
  ruleErrors: RuleFailure[];
  /** Mistakes that fail a rule only where evaluation reaches them (not reached here). */
  ruleWarnings: readonly RuleSetWarning[];
  rejected: Rejection[];
}

// Callers evaluating many nodes against one rule set pass the same array each time: compile it
// once (rules are compiled regexps and templates; compiling dominates a node's evaluation).
const compiledSets = new WeakMap<readonly NodeFeatureRule[], ReturnType<typeof compileRules>>();

/**
 * What nfd-master would apply to the node the NodeFeature objects describe: merge them, run
 * the rules, add the NodeFeature labels (rule labels win), then apply the label policy.
 */
export function evaluateNode(
  nodeFeatures: readonly NodeFeatureObject[],
  rules: readonly NodeFeatureRule[],
  policy: LabelPolicy,
  masterNamespace: string,
): EvalResult {
  const merged = mergeNodeFeatures(nodeFeatures, masterNamespace);
  let compiled = compiledSets.get(rules);
  if (!compiled) {
    compiled = compileRules(rules);
    compiledSets.set(rules, compiled);
  }
  const processed = processRules(compiled, merged.features);
  const labels = { ...addDefaultNamespace(merged.labels), ...processed.labels };
  const applied = applyLabelPolicy(
    {
      labels,
      annotations: processed.annotations,
      extendedResources: processed.extendedResources,
      taints: processed.taints,
    },
    processed.features,
    policy,
  );
  const { rejected, ...output } = applied;
  // A warning whose rule failed here is already reported as that rule's error.
  const failed = new Set(processed.errors.map((f) => `${f.object}\0${f.rule}`));
  const ruleWarnings = compiled.warnings.filter((w) => !failed.has(`${w.object}\0${w.rule}`));
  return { output, ruleErrors: processed.errors, ruleWarnings, rejected };
}
