/**
 * `hwe nfd worker` (also run as `nfd-worker`, with upstream's single-dash flags).
 */
import { readFileSync } from 'node:fs';
import {
  type Command,
  type CommandContext,
  UsageError,
  abortOnStopSignal,
  booleanFlag as bool,
  listFlag as list,
  stringFlag as str,
} from '../../command/index.js';
import { parseGoDuration } from '../../runtime/duration.js';
import { lazyKubeClient } from '../../runtime/lazy-client.js';
import { type FlagOverrides } from './config.js';
import { DEFAULT_CONFIG_FILE, resolveHostPaths } from './hostfs.js';
import type { NodeFeatureObject } from './discover.js';
import type { PublishOutcome } from './publish.js';
import { quoteValue } from '../../runtime/quote.js';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * The name gethostname(2) gives, read from procfs (the same UTS namespace), so that a one-shot
 * run does not load node:os for it; node:os where procfs is not there.
 */
export function hostName(): string {
  try {
    const name = readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
    if (name) return name;
  } catch {
    // No procfs: ask the system.
  }
  return process.getBuiltinModule('node:os').hostname();
}

/** The namespace the worker writes to: flag, POD_NAMESPACE, the pod's service account, default. */
export function workerNamespace(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return flag;
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    const ns = readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
    if (ns) return ns;
  } catch {
    // Not in a pod.
  }
  return 'default';
}

function flagOverrides(ctx: CommandContext): FlagOverrides {
  const o: FlagOverrides = {};
  const si = str(ctx, 'sleep-interval');
  if (si !== undefined) {
    const ms = parseGoDuration(si.trim());
    if (ms === undefined)
      throw new UsageError(
        `flag --sleep-interval: ${quoteValue(si)} is not a duration; e.g. 60s, 1m30s, 0`,
      );
    o.sleepInterval = ms;
  }
  const sources = list(ctx, 'sources');
  if (sources) o.sources = sources;
  const fs = list(ctx, 'feature-sources');
  if (fs) o.featureSources = fs;
  const ls = list(ctx, 'label-sources');
  if (ls) o.labelSources = ls;
  const wl = str(ctx, 'label-whitelist');
  if (wl !== undefined) o.labelWhiteList = wl;
  const np = bool(ctx, 'no-publish');
  if (np !== undefined) o.noPublish = np;
  const nor = bool(ctx, 'no-owner-refs');
  if (nor !== undefined) o.noOwnerRefs = nor;
  return o;
}

async function run(ctx: CommandContext): Promise<number> {
  const output = str(ctx, 'output');
  if (output !== undefined && output !== 'json' && output !== 'yaml')
    throw new UsageError(
      `flag -o: ${quoteValue(output)} is not an output format; use json or yaml`,
    );
  if (ctx.args.length) throw new UsageError(`unexpected argument ${quoteValue(ctx.args[0])}`);
  const flags = flagOverrides(ctx);
  const kubeconfig = str(ctx, 'kubeconfig');
  // Discovery loads on use, so that registering this command costs other commands nothing.
  const { runWorker, stderrLogger } = await import('./worker.js');
  const log = stderrLogger(ctx.stderr);
  const namespace = workerNamespace(str(ctx, 'namespace'), ctx.env);
  let publisher: ((nf: NodeFeatureObject) => Promise<PublishOutcome>) | undefined;
  const abort = new AbortController();
  return abortOnStopSignal(abort, () =>
    runWorker({
      configFile: str(ctx, 'config'),
      optionsText: str(ctx, 'options'),
      flags,
      verbosity: typeof ctx.flags.v === 'number' ? ctx.flags.v : undefined,
      oneshot: bool(ctx, 'oneshot') ?? false,
      paths: resolveHostPaths(str(ctx, 'host-root')),
      nodeName: str(ctx, 'node-name') || ctx.env.NODE_NAME || hostName(),
      namespace,
      podName: ctx.env.POD_NAME,
      podUid: ctx.env.POD_UID,
      output: output,
      stdout: ctx.stdout,
      log,
      signal: abort.signal,
      publish: async (nf) => {
        if (!publisher) {
          // Loaded only when publishing, so that a dry run starts fast.
          const [client, { publishNodeFeature }] = await Promise.all([
            lazyKubeClient(kubeconfig, ctx.env, abort.signal)(),
            import('./publish.js'),
          ]);
          publisher = (o) => publishNodeFeature(client, o);
        }
        return publisher(nf);
      },
    }),
  );
}

export const workerCommand: Command = {
  name: 'worker',
  summary: 'nfd-worker: discover node features and publish them as a NodeFeature object',
  description:
    'Discovers the features of this node (cpu, kernel, memory, network, pci, usb, storage,\n' +
    'system, local feature files and custom rules) and publishes them, with the labels derived\n' +
    'from them, as one NodeFeature object named after the node. Runs every core.sleepInterval\n' +
    'and when the config file, features.d or custom.d change; --oneshot runs one pass.\n' +
    'With --oneshot --no-publish -o json it prints the NodeFeature it would publish.',
  flags: [
    {
      name: 'config',
      type: 'string',
      placeholder: 'FILE',
      default: DEFAULT_CONFIG_FILE,
      help: 'worker configuration file (reloaded when it changes; a missing file means defaults)',
    },
    {
      name: 'options',
      type: 'string',
      placeholder: 'YAML',
      help: 'configuration in YAML that overrides the file, e.g. "core: {sleepInterval: 10s}"',
    },
    { name: 'oneshot', type: 'boolean', help: 'discover and publish once, then exit' },
    { name: 'no-publish', type: 'boolean', help: 'discover but publish nothing (core.noPublish)' },
    {
      name: 'sleep-interval',
      type: 'string',
      placeholder: 'DURATION',
      help: 'time between passes, e.g. 60s; 0 or less: once (core.sleepInterval)',
    },
    {
      name: 'sources',
      type: 'list',
      placeholder: 'LIST',
      help: 'label sources, comma-separated: all, names, -name (core.sources)',
    },
    {
      name: 'label-sources',
      type: 'list',
      placeholder: 'LIST',
      help: 'label sources (core.labelSources)',
    },
    {
      name: 'feature-sources',
      type: 'list',
      placeholder: 'LIST',
      help: 'feature sources whose features are published (core.featureSources)',
    },
    {
      name: 'label-whitelist',
      type: 'string',
      placeholder: 'REGEX',
      help: 'publish only labels whose name after "/" matches (core.labelWhiteList)',
    },
    {
      name: 'no-owner-refs',
      type: 'boolean',
      help: 'do not set owner references (core.noOwnerRefs)',
    },
    {
      name: 'host-root',
      type: 'string',
      placeholder: 'DIR',
      help: 'read the host under DIR (DIR/sys, DIR/proc, DIR/etc, …) instead of / or the /host-* mounts',
    },
    {
      name: 'node-name',
      type: 'string',
      placeholder: 'NAME',
      help: 'node name (default $NODE_NAME, else the hostname)',
    },
    {
      name: 'namespace',
      type: 'string',
      placeholder: 'NS',
      help: "namespace of the NodeFeature (default $POD_NAMESPACE, the pod's namespace, else default)",
    },
    { name: 'kubeconfig', type: 'string', placeholder: 'FILE', help: 'kubeconfig file' },
    {
      name: 'output',
      aliases: ['o'],
      type: 'string',
      placeholder: 'FORMAT',
      help: 'print the NodeFeature of each pass: json or yaml',
    },
    { name: 'v', type: 'number', placeholder: 'N', help: 'log verbosity (core.klog.v)' },
  ],
  run,
};
