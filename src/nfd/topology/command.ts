/**
 * `hwe nfd topology-updater` (also run as `nfd-topology-updater`, with upstream's single-dash
 * flags and defaults, so that upstream's and the seed's DaemonSets run it as written).
 */
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  type Command,
  type CommandContext,
  UsageError,
  abortOnStopSignal,
  booleanFlag,
  stringFlag as str,
} from '../../command/index.js';
import { parseGoDuration } from '../../runtime/duration.js';
import { lazyKubeClient } from '../../runtime/lazy-client.js';
import { resolveHostPaths } from '../worker/hostfs.js';
import {
  DEFAULT_CONFIG_FILE,
  DEFAULT_KUBELET_CONFIG_FILE,
  DEFAULT_KUBELET_STATE_DIR,
  DEFAULT_PODRESOURCES_SOCKET,
  DEFAULT_SLEEP_INTERVAL,
  DEFAULT_WATCH_NAMESPACE,
} from './constants.js';
import { quoteValue } from '../../runtime/quote.js';

const bool = (ctx: CommandContext, name: string): boolean => booleanFlag(ctx, name) === true;

/** The nfd-master gRPC flags of NFD releases that sent topology to nfd-master. */
const LEGACY_TLS_FLAGS = ['ca-file', 'cert-file', 'key-file'] as const;
const LEGACY_FLAGS = ['server', ...LEGACY_TLS_FLAGS, 'server-name-override'] as const;

/**
 * Checks the legacy transport flags as their release did (the TLS files all or none) and says
 * what becomes of them; undefined when none is given.
 */
export function legacyFlagsWarning(given: Record<string, string | undefined>): string | undefined {
  const tls = LEGACY_TLS_FLAGS.filter((f) => given[f]);
  if (tls.length && tls.length < LEGACY_TLS_FLAGS.length) {
    const missing = LEGACY_TLS_FLAGS.filter((f) => !given[f]).map((f) => `-${f}`);
    throw new UsageError(
      `flags -ca-file, -cert-file and -key-file go together: ${missing.join(' and ')} missing`,
    );
  }
  const used = LEGACY_FLAGS.filter((f) => given[f] !== undefined && given[f] !== '');
  if (!used.length) return undefined;
  return (
    `${used.map((f) => `-${f}`).join(', ')} ignored: NodeResourceTopology objects are written ` +
    'through the Kubernetes API (in-cluster service account, -kubeconfig or KUBECONFIG), not sent to nfd-master'
  );
}

/** `-kubelet-config-uri file:///path` → path; other schemes are refused with the fix. */
export function kubeletConfigPath(file: string, uri: string | undefined): string {
  if (uri === undefined || uri === '') return file;
  if (uri.startsWith('file://')) return fileURLToPath(uri);
  throw new UsageError(
    `flag -kubelet-config-uri: ${quoteValue(uri)} is not a file:// URI; mount the kubelet's config file and use file:///path`,
  );
}

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError(`unexpected argument ${quoteValue(ctx.args[0])}`);
  if (bool(ctx, 'version')) {
    const { VERSION } = await import('../../version.js');
    ctx.stdout.write(`nfd-topology-updater ${VERSION}\n`);
    return 0;
  }
  const output = str(ctx, 'output');
  if (output !== undefined && output !== 'json' && output !== 'yaml')
    throw new UsageError(
      `flag -o: ${quoteValue(output)} is not an output format; use json or yaml`,
    );
  const si = (str(ctx, 'sleep-interval') ?? DEFAULT_SLEEP_INTERVAL).trim();
  const sleepIntervalMs = parseGoDuration(si);
  if (sleepIntervalMs === undefined)
    throw new UsageError(
      `flag -sleep-interval: ${quoteValue(si)} is not a duration; e.g. 60s, 1m30s, 0`,
    );
  const watchNamespace = str(ctx, 'watch-namespace') || DEFAULT_WATCH_NAMESPACE;
  const kubeletConfigFile = kubeletConfigPath(
    str(ctx, 'kubelet-config-file') || DEFAULT_KUBELET_CONFIG_FILE,
    str(ctx, 'kubelet-config-uri'),
  );
  const socket = str(ctx, 'podresources-socket') || DEFAULT_PODRESOURCES_SOCKET;
  const noPublish = bool(ctx, 'no-publish');
  const nodeName = str(ctx, 'node-name') || ctx.env.NODE_NAME || hostname();
  const kubeconfig = str(ctx, 'kubeconfig');

  const [{ createLogger }, { runTopologyUpdater }, { podResourcesClient }] = await Promise.all([
    import('../../runtime/log.js'),
    import('./updater.js'),
    import('./podresources.js'),
  ]);
  const v = typeof ctx.flags.v === 'number' ? ctx.flags.v : 0;
  const log = createLogger({
    name: 'nfd-topology-updater',
    level: v >= 4 ? 'debug' : undefined,
    write: (l) => ctx.stderr.write(l),
  });
  const warning = legacyFlagsWarning(Object.fromEntries(LEGACY_FLAGS.map((f) => [f, str(ctx, f)])));
  if (warning) log.warn(warning);

  // The Kubernetes client is created on first use: a dry run on a node without pods needs none.
  const abort = new AbortController();
  const kube = lazyKubeClient(kubeconfig, ctx.env, abort.signal);
  const { listNodePods, applyNodeResourceTopology } = await import('./publish.js');
  let printer: ((nrt: object) => void) | undefined;
  if (noPublish || output) {
    const format = output ?? 'yaml';
    const { stringify } = format === 'yaml' ? await import('yaml') : { stringify: undefined };
    printer = (nrt) =>
      ctx.stdout.write(stringify ? `---\n${stringify(nrt)}` : JSON.stringify(nrt) + '\n');
  }

  return abortOnStopSignal(abort, () =>
    runTopologyUpdater({
      nodeName,
      sys: resolveHostPaths(str(ctx, 'host-root')).sys,
      kubeletConfigFile,
      configFile: str(ctx, 'config') ?? DEFAULT_CONFIG_FILE,
      kubeletStateDir: str(ctx, 'kubelet-state-dir') || undefined,
      watchNamespace,
      sleepIntervalMs,
      oneshot: bool(ctx, 'oneshot'),
      connect: () => podResourcesClient(socket),
      pods: async (ns) => listNodePods(await kube(), nodeName, ns),
      publish: noPublish ? undefined : async (nrt) => applyNodeResourceTopology(await kube(), nrt),
      onPass: printer,
      log,
      signal: abort.signal,
    }),
  );
}

export const topologyUpdaterCommand: Command = {
  name: 'topology-updater',
  summary: 'nfd-topology-updater: publish per-NUMA-zone resources as a NodeResourceTopology',
  description:
    "Reads the node's NUMA layout from sysfs, the kubelet's configuration (topology manager\n" +
    "policy and scope) and the kubelet's pod-resources API (allocatable resources, and what\n" +
    'Guaranteed pods with whole CPUs and pods with devices hold), and writes the\n' +
    'NodeResourceTopology named after the node: a zone node-N per NUMA node with capacity,\n' +
    'allocatable and available cpu, memory, hugepages and devices. Runs every\n' +
    '-sleep-interval and soon after the kubelet changes its CPU, memory or device state.',
  flags: [
    {
      name: 'kubelet-config-file',
      type: 'string',
      placeholder: 'FILE',
      default: DEFAULT_KUBELET_CONFIG_FILE,
      help: "the kubelet's configuration file",
    },
    {
      name: 'kubelet-config-uri',
      type: 'string',
      placeholder: 'URI',
      help: 'the same as a file:// URI (wins over -kubelet-config-file)',
    },
    {
      name: 'podresources-socket',
      type: 'string',
      placeholder: 'PATH',
      default: DEFAULT_PODRESOURCES_SOCKET,
      help: "the kubelet's pod-resources API socket",
    },
    {
      name: 'kubelet-state-dir',
      type: 'string',
      placeholder: 'DIR',
      default: DEFAULT_KUBELET_STATE_DIR,
      help: "the kubelet's state directory, watched for resource changes ('' disables)",
    },
    {
      name: 'sleep-interval',
      type: 'string',
      placeholder: 'DURATION',
      default: DEFAULT_SLEEP_INTERVAL,
      help: 'time between passes; 0 or less: no timed passes',
    },
    {
      name: 'watch-namespace',
      type: 'string',
      placeholder: 'NS',
      default: DEFAULT_WATCH_NAMESPACE,
      help: 'count only pods of this namespace (* for all)',
    },
    {
      name: 'config',
      type: 'string',
      placeholder: 'FILE',
      default: DEFAULT_CONFIG_FILE,
      help: 'configuration file with excludeList (missing: none)',
    },
    { name: 'oneshot', type: 'boolean', help: 'one pass, then exit (1 if it failed)' },
    {
      name: 'no-publish',
      type: 'boolean',
      help: 'write nothing; print the object of each pass instead',
    },
    {
      name: 'output',
      aliases: ['o'],
      type: 'string',
      placeholder: 'FORMAT',
      help: 'print the object of each pass: yaml (default with -no-publish) or json',
    },
    {
      name: 'host-root',
      type: 'string',
      placeholder: 'DIR',
      help: 'read the host under DIR (DIR/sys) instead of /host-sys or /sys',
    },
    {
      name: 'node-name',
      type: 'string',
      placeholder: 'NAME',
      help: 'node name (default $NODE_NAME, else the hostname)',
    },
    { name: 'kubeconfig', type: 'string', placeholder: 'FILE', help: 'kubeconfig file' },
    {
      name: 'server',
      type: 'string',
      placeholder: 'ADDR',
      help: 'accepted for older manifests and ignored: objects go through the Kubernetes API',
    },
    {
      name: 'ca-file',
      type: 'string',
      placeholder: 'FILE',
      help: 'accepted and ignored (see -server)',
    },
    {
      name: 'cert-file',
      type: 'string',
      placeholder: 'FILE',
      help: 'accepted and ignored (see -server)',
    },
    {
      name: 'key-file',
      type: 'string',
      placeholder: 'FILE',
      help: 'accepted and ignored (see -server)',
    },
    {
      name: 'server-name-override',
      type: 'string',
      placeholder: 'NAME',
      help: 'accepted and ignored (see -server)',
    },
    { name: 'version', type: 'boolean', help: 'print the version and exit' },
    {
      name: 'v',
      type: 'number',
      placeholder: 'N',
      help: 'log verbosity; 4 or more logs debug lines',
    },
  ],
  run,
};
