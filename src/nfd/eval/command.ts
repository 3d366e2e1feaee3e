import { RE2JS } from 're2js';
import { type Command, readInputText, UsageError } from '../../command/index.js';
import { type EvalInputs, evaluateNode, parseObjects } from './evaluate.js';
import { InvalidInputError } from './merge.js';
import { DEFAULT_POLICY, type LabelPolicy } from './policy.js';
import { boundedMessage, quoteValue } from '../../runtime/quote.js';

/** Where nfd-master runs unless told otherwise; its NodeFeature objects are merged first. */
export const DEFAULT_MASTER_NAMESPACE = 'node-feature-discovery';

function sortedObject(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]!]),
  );
}

function asList(v: unknown): string[] {
  return Array.isArray(v) ? (v as string[]) : [];
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'print what nfd-master would apply to a node, from NodeFeature and NodeFeatureRule YAML',
  description:
    'Evaluates NodeFeatureRule objects against the features of one node, as nfd-master with\n' +
    'default flags would, and prints {labels, annotations, extendedResources, taints} as JSON.\n' +
    'Several NodeFeature objects for the node are merged as the master merges them. Rules that\n' +
    'fail are reported on stderr and skipped; the others apply. Files hold multi-document YAML;\n' +
    '"-" reads standard input.',
  flags: [
    {
      name: 'features',
      type: 'list',
      placeholder: 'FILE',
      help: 'NodeFeature objects (YAML); repeatable',
    },
    {
      name: 'rules',
      type: 'list',
      placeholder: 'FILE',
      help: 'NodeFeatureRule objects (YAML); repeatable',
    },
    { name: 'enable-taints', type: 'boolean', help: 'apply taints from rules (-enable-taints)' },
    {
      name: 'node',
      type: 'string',
      placeholder: 'NAME',
      help: 'use only the NodeFeature objects of this node',
    },
    {
      name: 'namespace',
      type: 'string',
      placeholder: 'NS',
      default: DEFAULT_MASTER_NAMESPACE,
      help: "the master's namespace, whose NodeFeature objects merge first",
    },
    {
      name: 'extra-label-ns',
      type: 'list',
      placeholder: 'NS',
      help: 'allow these label namespaces (-extra-label-ns)',
    },
    {
      name: 'deny-label-ns',
      type: 'list',
      placeholder: 'NS',
      help: 'refuse these label namespaces, *.x for subdomains (-deny-label-ns)',
    },
    {
      name: 'label-whitelist',
      type: 'string',
      placeholder: 'REGEX',
      help: 'publish only labels whose name matches (-label-whitelist)',
    },
  ],
  run: async ({ flags, stdout, stderr, path }) => {
    const featureFiles = asList(flags['features']);
    const ruleFiles = asList(flags['rules']);
    if (featureFiles.length === 0) {
      throw new UsageError('--features FILE is required: the NodeFeature objects of the node');
    }
    let whitelist: RE2JS | undefined;
    const wl = flags['label-whitelist'];
    if (typeof wl === 'string' && wl !== '') {
      try {
        whitelist = RE2JS.compile(wl);
      } catch (e) {
        throw new UsageError(
          `flag --label-whitelist: invalid regular expression: ${boundedMessage((e as Error).message)}`,
        );
      }
    }
    const policy: LabelPolicy = {
      ...DEFAULT_POLICY,
      enableTaints: flags['enable-taints'] === true,
      extraLabelNs: asList(flags['extra-label-ns']),
      denyLabelNs: asList(flags['deny-label-ns']),
      labelWhiteList: whitelist,
    };

    const inputs: EvalInputs = { nodeFeatures: [], rules: [] };
    try {
      for (const file of [...featureFiles, ...ruleFiles]) {
        let text: string;
        try {
          text = await readInputText(file);
        } catch (e) {
          throw new InvalidInputError(file, `cannot read: ${(e as Error).message}`);
        }
        parseObjects(text, file, inputs);
      }
      const node = flags['node'];
      if (typeof node === 'string' && node !== '') {
        inputs.nodeFeatures = inputs.nodeFeatures.filter((o) => o.node === node);
        if (inputs.nodeFeatures.length === 0) {
          throw new InvalidInputError(
            '--node',
            `no NodeFeature object is for node ${quoteValue(node)}`,
          );
        }
      }
      if (inputs.nodeFeatures.length === 0) {
        throw new InvalidInputError(featureFiles.join(', '), 'holds no NodeFeature object');
      }
      const nodes = [...new Set(inputs.nodeFeatures.map((o) => o.node))];
      if (nodes.length > 1) {
        throw new InvalidInputError(
          'NodeFeature objects',
          `describe several nodes (${nodes.join(', ')}); choose one with --node`,
        );
      }
    } catch (e) {
      if (e instanceof InvalidInputError) {
        stderr.write(`${path}: ${e.message}\n`);
        return 2;
      }
      throw e;
    }

    const namespace =
      typeof flags['namespace'] === 'string' ? flags['namespace'] : DEFAULT_MASTER_NAMESPACE;
    const result = evaluateNode(inputs.nodeFeatures, inputs.rules, policy, namespace);
    for (const f of result.ruleErrors) {
      stderr.write(
        `${path}: NodeFeatureRule ${quoteValue(f.object)}: ${f.error.message}; rule skipped\n`,
      );
    }
    for (const w of result.ruleWarnings) {
      stderr.write(
        `${path}: warning: NodeFeatureRule ${quoteValue(w.object)}: rule ${quoteValue(w.rule)}: ${w.field}: ${w.detail} (fails the rule on nodes where evaluation reaches it)\n`,
      );
    }
    for (const r of result.rejected) {
      stderr.write(`${path}: ignoring ${r.kind} ${r.name}: ${r.reason}\n`);
    }
    const out = {
      labels: sortedObject(result.output.labels),
      annotations: sortedObject(result.output.annotations),
      extendedResources: sortedObject(result.output.extendedResources),
      taints: result.output.taints,
    };
    stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  },
};
