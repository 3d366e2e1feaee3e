/** `hwe dashboard`: a read-only web page of the cluster's hardware and driver rollout. */
import { type Command, UsageError } from '../command/index.js';
import { quoteValue } from '../runtime/quote.js';

export const dashboardCommand: Command = {
  name: 'dashboard',
  summary: 'serve a live, read-only web page of node features, rules and module rollouts',
  description:
    'Serves a web page of the cluster as NFD and KMM see it: nodes and their feature labels,\n' +
    'NodeFeatureRules and the nodes they match, Modules per kernel (image, build, sign) and\n' +
    'per node (loaded, pending, failed and why), PreflightValidations and NUMA topology. The\n' +
    'page updates as objects change. On a loopback address (the default) anyone on this\n' +
    'machine may read it; on any other address it serves HTTPS and each request needs a\n' +
    'bearer token that may list what the view shows (TokenReview, SubjectAccessReview).\n' +
    'Secrets are never read.',
  flags: [
    { name: 'kubeconfig', type: 'string', placeholder: 'FILE', help: 'kubeconfig file' },
    {
      name: 'listen',
      type: 'string',
      placeholder: 'HOST:PORT',
      default: '127.0.0.1:8080',
      help: 'address to serve on; not loopback: HTTPS with token review',
    },
    {
      name: 'cert-dir',
      type: 'string',
      placeholder: 'DIR',
      help: 'tls.crt and tls.key for HTTPS (default: a self-signed pair made at start)',
    },
  ],
  run: async ({ flags, args, env, stderr }) => {
    if (args.length) throw new UsageError(`unexpected argument ${quoteValue(args[0])}`);
    const [{ KubeClient, resolveAccess, createLogger }, { DashboardServer, parseListen }] =
      await Promise.all([import('../runtime/index.js'), import('./server.js')]);
    const listen = String(flags.listen);
    try {
      parseListen(listen);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const kubeconfig = typeof flags.kubeconfig === 'string' ? flags.kubeconfig : undefined;
    const client = new KubeClient(resolveAccess({ kubeconfig, env }));
    const server = new DashboardServer({
      client,
      listen,
      log: createLogger({ name: 'dashboard' }),
      ...(typeof flags['cert-dir'] === 'string' ? { certDir: flags['cert-dir'] } : {}),
    });
    await server.start();
    stderr.write(`dashboard: serving ${server.url}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.stop();
    client.close();
    return 0;
  },
};
