/**
 * `hwe nfd master` (also run as `nfd-master`, with upstream's single-dash flags).
 */
import { RE2JS } from 're2js';
import {
  type Command,
  type CommandContext,
  UsageError,
  listFlag,
  numberFlag as num,
  stringFlag as str,
} from '../../command/index.js';
import { DEFAULT_POLICY, type LabelPolicy } from '../eval/index.js';
import { parseGoDuration } from '../../runtime/duration.js';
import { workerNamespace } from '../worker/command.js';
import { PORT_AND_METRICS_FLAGS, metricsServing } from '../../command/metrics-flags.js';
import { boundedMessage, quoteValue } from '../../runtime/quote.js';

const INSTANCE_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

const list = (ctx: CommandContext, name: string): string[] => listFlag(ctx, name) ?? [];

function port(ctx: CommandContext, name: string): number | undefined {
  const p = num(ctx, name);
  if (p === undefined) return undefined;
  if (!Number.isInteger(p) || p < 0 || p > 65535) {
    throw new UsageError(`flag --${name}: ${p} is not a port; use 0 to 65535`);
  }
  return p;
}

/** The label policy from -extra-label-ns, -deny-label-ns, -label-whitelist, -enable-taints. */
export function policyFromFlags(ctx: CommandContext): LabelPolicy {
  let labelWhiteList: RE2JS | undefined;
  const wl = str(ctx, 'label-whitelist');
  if (wl) {
    try {
      labelWhiteList = RE2JS.compile(wl);
    } catch (e) {
      throw new UsageError(
        `flag --label-whitelist: invalid regular expression: ${boundedMessage((e as Error).message)}`,
      );
    }
  }
  return {
    ...DEFAULT_POLICY,
    extraLabelNs: list(ctx, 'extra-label-ns'),
    denyLabelNs: list(ctx, 'deny-label-ns'),
    labelWhiteList,
    enableTaints: ctx.flags['enable-taints'] === true,
  };
}

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError(`unexpected argument ${quoteValue(ctx.args[0])}`);
  const instance = str(ctx, 'instance') ?? '';
  if (instance && !INSTANCE_RE.test(instance)) {
    throw new UsageError(
      `flag --instance: ${quoteValue(instance)} must be alphanumerics, "-", "_" or "." and start and end with an alphanumeric`,
    );
  }
  const resyncText = str(ctx, 'resync-period') ?? '1h';
  const resyncPeriodMs = parseGoDuration(resyncText.trim());
  if (resyncPeriodMs === undefined || resyncPeriodMs < 0) {
    throw new UsageError(
      `flag --resync-period: ${quoteValue(resyncText)} is not a duration; e.g. 1h, 30m`,
    );
  }
  const parallelism = num(ctx, 'nfd-api-parallelism') ?? 32;
  if (!Number.isInteger(parallelism) || parallelism <= 0) {
    throw new UsageError(`flag --nfd-api-parallelism: ${parallelism} must be a positive integer`);
  }
  const pageSize = num(ctx, 'informer-page-size') ?? 200;
  if (!Number.isInteger(pageSize) || pageSize <= 0) {
    throw new UsageError(`flag --informer-page-size: ${pageSize} must be a positive integer`);
  }
  const policy = policyFromFlags(ctx);
  const probePort = port(ctx, 'port') ?? 8080;
  const metricsPort = port(ctx, 'metrics');
  const v = num(ctx, 'v') ?? 0;

  const [{ KubeClient, resolveAccess, createLogger }, { NfdMaster }, { pruneNodes }] =
    await Promise.all([
      import('../../runtime/index.js'),
      import('./master.js'),
      import('./prune.js'),
    ]);
  const log = createLogger({
    name: 'nfd-master',
    level: v >= 4 ? 'debug' : undefined,
    write: (l) => ctx.stderr.write(l),
  });
  const client = new KubeClient(
    resolveAccess({ kubeconfig: str(ctx, 'kubeconfig'), env: ctx.env }),
  );
  try {
    if (ctx.flags['prune'] === true) {
      if (ctx.flags['no-publish'] === true) {
        log.info('-no-publish is set: not pruning');
        return 0;
      }
      const n = await pruneNodes(client, instance || undefined, log);
      log.info('pruned', { nodesUpdated: n });
      return 0;
    }
    const master = new NfdMaster({
      client,
      namespace: workerNamespace(str(ctx, 'namespace'), ctx.env),
      instance: instance || undefined,
      policy,
      noPublish: ctx.flags['no-publish'] === true,
      resyncPeriodMs,
      parallelism,
      informerPageSize: pageSize,
      leaderElection: ctx.flags['enable-leader-election'] === true,
      healthProbeAddress: `:${probePort}`,
      metricsAddress: metricsPort ? `:${metricsPort}` : undefined,
      ...metricsServing(ctx),
      log,
    });
    master.mgr.stopOnSignals();
    await master.start();
    await master.wait();
    return 0;
  } catch (e) {
    log.error('nfd-master failed', { error: e });
    return 1;
  } finally {
    client.close();
  }
}

export const masterCommand: Command = {
  name: 'master',
  summary: 'nfd-master: label nodes from NodeFeature objects and NodeFeatureRules',
  description:
    'Watches NodeFeature, NodeFeatureRule, NodeFeatureGroup and Node objects; merges each\n' +
    "node's NodeFeature objects, evaluates the rules, applies the label policy and writes\n" +
    'labels, annotations, taints and extended resources to the Node — only what differs, and\n' +
    'only once its caches are synced. Keeps NodeFeatureGroup status current.',
  flags: [
    { name: 'kubeconfig', type: 'string', placeholder: 'FILE', help: 'kubeconfig file' },
    {
      name: 'namespace',
      type: 'string',
      placeholder: 'NS',
      help: "the master's namespace (default $POD_NAMESPACE, the pod's namespace, else default)",
    },
    {
      name: 'instance',
      type: 'string',
      placeholder: 'NAME',
      help: 'instance name: separate bookkeeping annotations for parallel deployments',
    },
    {
      name: 'extra-label-ns',
      type: 'list',
      placeholder: 'NS,...',
      help: 'label namespaces to allow although reserved or denied',
    },
    {
      name: 'deny-label-ns',
      type: 'list',
      placeholder: 'NS,...',
      help: 'label namespaces to refuse; *.example.com refuses subdomains',
    },
    {
      name: 'label-whitelist',
      type: 'string',
      placeholder: 'REGEX',
      help: 'publish only labels whose name after "/" matches (RE2)',
    },
    { name: 'enable-taints', type: 'boolean', help: 'apply taints from NodeFeatureRules' },
    { name: 'no-publish', type: 'boolean', help: 'dry run: write nothing to Nodes' },
    {
      name: 'resync-period',
      type: 'string',
      placeholder: 'DURATION',
      default: '1h',
      help: 're-evaluate every node this often (0 disables)',
    },
    {
      name: 'nfd-api-parallelism',
      type: 'number',
      default: 32,
      help: 'node updates in flight at once (upstream: 10)',
    },
    {
      name: 'informer-page-size',
      type: 'number',
      default: 200,
      help: 'NodeFeature objects per page when listing',
    },
    {
      name: 'enable-leader-election',
      type: 'boolean',
      help: `elect one active replica (Lease ${'nfd-master.nfd.kubernetes.io'} in the namespace)`,
    },
    ...PORT_AND_METRICS_FLAGS,
    {
      name: 'prune',
      type: 'boolean',
      help: 'remove every label, annotation, taint and extended resource NFD added, then exit',
    },
    { name: 'v', type: 'number', help: 'log verbosity (klog -v); 4 or more logs debug lines' },
  ],
  run,
};
