/** `hwe must-gather` (also the image's `gather`, as `oc adm must-gather --image=…` runs it). */
import { resolve } from 'node:path';
import { type Command, UsageError } from '../command/index.js';
import { parseGoDuration } from '../runtime/duration.js';
import { quoteValue } from '../runtime/quote.js';

export const mustGatherCommand: Command = {
  name: 'must-gather',
  summary: 'collect KMM and NFD objects, logs and events into a support bundle (never Secret data)',
  description:
    'Writes the Modules, NodeModulesConfigs, ModuleImagesConfigs, ModuleBuildSignConfigs,\n' +
    'PreflightValidations, NodeFeatureDiscoveries, NodeFeatures, NodeFeatureRules,\n' +
    'NodeFeatureGroups and NodeResourceTopologies of the cluster; the pods, DaemonSets,\n' +
    'Deployments, ConfigMaps, events and container logs of the operator namespaces; the\n' +
    'KMM and NFD pods, DaemonSets and events of the namespaces holding their objects; and\n' +
    "each node's labels, kernel and OS image. Secrets appear by name only. The layout is\n" +
    "OpenShift must-gather's (namespaces/<ns>/<group>/<resource>/<name>.yaml); DIR.tar.gz\n" +
    'holds the same. Progress goes to stderr.',
  flags: [
    { name: 'kubeconfig', type: 'string', placeholder: 'FILE', help: 'kubeconfig file' },
    {
      name: 'dest-dir',
      type: 'string',
      placeholder: 'DIR',
      default: 'must-gather',
      help: 'where to write the bundle (DIR.tar.gz beside it)',
    },
    {
      name: 'since',
      type: 'string',
      placeholder: 'DURATION',
      help: 'only logs and events newer than this (e.g. 2h, 30m)',
    },
    {
      name: 'namespace',
      aliases: ['n'],
      type: 'list',
      placeholder: 'NS',
      help: 'also gather these namespaces whole (repeatable; the operator namespaces are found)',
    },
    { name: 'no-archive', type: 'boolean', help: 'write the folder only, no DIR.tar.gz' },
  ],
  run: async ({ flags, args, env, stdout, stderr }) => {
    if (args.length) throw new UsageError(`unexpected argument ${quoteValue(args[0])}`);
    const dest = resolve(String(flags['dest-dir'] || 'must-gather'));
    let sinceMs: number | undefined;
    if (typeof flags.since === 'string') {
      sinceMs = parseGoDuration(flags.since.trim());
      if (sinceMs === undefined || sinceMs <= 0) {
        throw new UsageError(
          `flag --since: ${quoteValue(flags.since)} is not a positive duration; e.g. 2h, 30m`,
        );
      }
    }
    const [{ KubeClient, resolveAccess }, { MustGather }, { archiveDir }] = await Promise.all([
      import('../runtime/index.js'),
      import('./gather.js'),
      import('./archive.js'),
    ]);
    const kubeconfig = typeof flags.kubeconfig === 'string' ? flags.kubeconfig : undefined;
    const client = new KubeClient(resolveAccess({ kubeconfig, env }));
    try {
      const summary = await new MustGather({
        client,
        destDir: dest,
        ...(sinceMs !== undefined ? { sinceMs } : {}),
        namespaces: (flags.namespace as string[] | undefined) ?? [],
        progress: (l) => stderr.write(`must-gather: ${l}\n`),
      }).run();
      let archive: string | undefined;
      if (flags['no-archive'] !== true) {
        archive = `${dest}.tar.gz`;
        await archiveDir(dest, archive);
        stderr.write(`must-gather: wrote ${archive}\n`);
      }
      stdout.write(
        JSON.stringify({ destDir: dest, ...(archive ? { archive } : {}), ...summary }) + '\n',
      );
      return 0;
    } finally {
      client.close();
    }
  },
};
