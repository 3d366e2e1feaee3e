/**
 * `hwe nfd gc` (also run as `nfd-gc`, with upstream's single-dash flags).
 */
import { type Command, UsageError } from '../../command/index.js';
import { parseGoDuration } from '../../runtime/duration.js';
import { PORT_AND_METRICS_FLAGS, metricsServing } from '../../command/metrics-flags.js';
import { quoteValue } from '../../runtime/quote.js';

export const gcCommand: Command = {
  name: 'gc',
  summary: 'nfd-gc: delete NodeFeature and NodeResourceTopology objects of deleted nodes',
  description:
    'Deletes the NodeFeature and NodeResourceTopology objects of nodes that no longer exist:\n' +
    'at once when a Node is deleted, and by a sweep of every object at start and every\n' +
    '--gc-interval. Sweeps leave objects younger than --gc-grace-period alone (they may be\n' +
    'created before their Node registers).',
  flags: [
    { name: 'kubeconfig', type: 'string', placeholder: 'FILE', help: 'kubeconfig file' },
    {
      name: 'gc-interval',
      type: 'string',
      placeholder: 'DURATION',
      default: '1h',
      help: 'time between sweeps (0: only the sweep at start)',
    },
    {
      name: 'gc-grace-period',
      type: 'string',
      placeholder: 'DURATION',
      default: '10m',
      help: 'sweeps leave objects younger than this alone (node deletions act at once)',
    },
    ...PORT_AND_METRICS_FLAGS,
    { name: 'v', type: 'number', help: 'log verbosity (klog -v); 4 or more logs debug lines' },
  ],
  run: async (ctx) => {
    const { flags, args, env, stderr } = ctx;
    if (args.length) throw new UsageError(`unexpected argument ${quoteValue(args[0])}`);
    const text = typeof flags['gc-interval'] === 'string' ? flags['gc-interval'] : '1h';
    const intervalMs = parseGoDuration(text.trim());
    if (intervalMs === undefined || intervalMs < 0) {
      throw new UsageError(
        `flag --gc-interval: ${quoteValue(text)} is not a duration; e.g. 1h, 10m`,
      );
    }
    const graceText =
      typeof flags['gc-grace-period'] === 'string' ? flags['gc-grace-period'] : '10m';
    const gracePeriodMs = parseGoDuration(graceText.trim());
    if (gracePeriodMs === undefined || gracePeriodMs < 0) {
      throw new UsageError(
        `flag --gc-grace-period: ${quoteValue(graceText)} is not a duration; e.g. 10m, 30s`,
      );
    }
    const port = typeof flags['port'] === 'number' ? flags['port'] : 8080;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError(`flag --port: ${port} is not a port; use 0 to 65535`);
    }
    const metricsPort = flags['metrics'];
    if (
      metricsPort !== undefined &&
      (typeof metricsPort !== 'number' ||
        !Number.isInteger(metricsPort) ||
        metricsPort < 0 ||
        metricsPort > 65535)
    ) {
      throw new UsageError(`flag --metrics: ${String(metricsPort)} is not a port; use 0 to 65535`);
    }
    const [{ KubeClient, resolveAccess, createLogger }, { NfdGc }] = await Promise.all([
      import('../../runtime/index.js'),
      import('./gc.js'),
    ]);
    const v = typeof flags['v'] === 'number' ? flags['v'] : 0;
    const log = createLogger({
      name: 'nfd-gc',
      level: v >= 4 ? 'debug' : undefined,
      write: (l) => stderr.write(l),
    });
    const kubeconfig = typeof flags['kubeconfig'] === 'string' ? flags['kubeconfig'] : undefined;
    const client = new KubeClient(resolveAccess({ kubeconfig, env }));
    try {
      const gc = new NfdGc({
        client,
        intervalMs,
        gracePeriodMs,
        healthProbeAddress: `:${port}`,
        metricsAddress: metricsPort !== undefined ? `:${metricsPort}` : undefined,
        ...metricsServing(ctx),
        log,
      });
      gc.mgr.stopOnSignals();
      await gc.start();
      await gc.wait();
      return 0;
    } catch (e) {
      log.error('nfd-gc failed', { error: e });
      return 1;
    } finally {
      client.close();
    }
  },
};
