import {
  METRICS_CERT_DIR_FLAG,
  METRICS_SECURE_FLAG,
  metricsServing,
} from '../../command/metrics-flags.js';
/**
 * `hwe nfd operator`: the NFD operator (NodeFeatureDiscovery → nfd-master, nfd-worker, nfd-gc,
 * nfd-topology-updater).
 */
import { readFileSync } from 'node:fs';
import { type Command, type CommandContext, UsageError, stringFlag } from '../../command/index.js';
import { ENV } from './constants.js';
import { quoteValue } from '../../runtime/quote.js';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function podNamespace(): string | undefined {
  try {
    return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined; // not in a pod
  }
}

/** A string flag given a value other than "". */
const str = (ctx: CommandContext, name: string): string | undefined =>
  stringFlag(ctx, name) || undefined;

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length) throw new UsageError(`unexpected argument ${quoteValue(ctx.args[0])}`);
  const { env } = ctx;
  const inPod = podNamespace();
  // In a pod the operator watches its own namespace, as upstream's; from a workstation, all.
  const namespace = str(ctx, 'namespace') ?? env.WATCH_NAMESPACE ?? inPod;
  const leaseNamespace = env[ENV.operatorNamespace] ?? inPod ?? namespace ?? 'default';
  const [
    { KubeClient, KubeconfigError, resolveAccess, Manager },
    { setupNfdOperator },
    { loadOperandRbac },
  ] = await Promise.all([
    import('../../runtime/index.js'),
    import('./controller.js'),
    import('./rbac.js'),
  ]);
  const rbac = loadOperandRbac();
  let access;
  try {
    access = resolveAccess({ kubeconfig: str(ctx, 'kubeconfig'), env });
  } catch (e) {
    if (e instanceof KubeconfigError) throw new UsageError(e.message);
    throw e;
  }
  const client = new KubeClient(access);
  const mgr = new Manager({
    client,
    name: 'nfd-operator',
    leaderElection:
      ctx.flags['leader-elect'] === true
        ? { namespace: leaseNamespace, name: 'nfd-operator.nfd.openshift.io' }
        : undefined,
    healthProbeAddress: str(ctx, 'health-probe-bind-address') ?? ':8081',
    metricsAddress: str(ctx, 'metrics-bind-address') ?? '127.0.0.1:8080',
    ...metricsServing(ctx),
  }).stopOnSignals();
  const settings = {
    image: str(ctx, 'operand-image') ?? env[ENV.operandImage],
    topologyUpdaterImage: env[ENV.topologyUpdaterImage],
    rbac,
  };
  mgr.log.info('nfd operator', {
    namespace: namespace ?? '(all)',
    operandImage: settings.image ?? '(from each NodeFeatureDiscovery)',
  });
  setupNfdOperator(mgr, { settings, namespace });
  try {
    await mgr.start();
    await mgr.wait();
    return 0;
  } finally {
    client.close();
  }
}

export const operatorCommand: Command = {
  name: 'operator',
  summary: 'the NFD operator: deploy NFD from NodeFeatureDiscovery objects',
  description:
    'Deploys, updates and removes nfd-master, nfd-worker, nfd-gc and nfd-topology-updater for\n' +
    'every NodeFeatureDiscovery (nfd.openshift.io/v1), and reports their state in its\n' +
    'conditions. In a pod it watches its own namespace; elsewhere every namespace, unless\n' +
    `--namespace is given. The operand image is spec.operand.image, else $${ENV.operandImage}\n` +
    `(and $${ENV.topologyUpdaterImage} for the topology updater, else the same image).`,
  flags: [
    { name: 'kubeconfig', type: 'string', placeholder: 'FILE', help: 'kubeconfig file' },
    {
      name: 'namespace',
      type: 'string',
      placeholder: 'NS',
      help: "watch only this namespace (default $WATCH_NAMESPACE, the pod's namespace, else all)",
    },
    {
      name: 'operand-image',
      type: 'string',
      placeholder: 'IMAGE',
      help: `operand image when a NodeFeatureDiscovery names none (default $${ENV.operandImage})`,
    },
    {
      name: 'leader-elect',
      type: 'boolean',
      help: `elect one active replica (Lease nfd-operator.nfd.openshift.io in $${ENV.operatorNamespace} or the pod's namespace)`,
    },
    {
      name: 'health-probe-bind-address',
      type: 'string',
      placeholder: 'ADDR',
      help: '/healthz and /readyz address (default :8081)',
    },
    {
      name: 'metrics-bind-address',
      type: 'string',
      placeholder: 'ADDR',
      help: '/metrics address, "0" for none (default 127.0.0.1:8080; e.g. :8443 to serve it to Prometheus)',
    },
    METRICS_SECURE_FLAG,
    METRICS_CERT_DIR_FLAG,
  ],
  run,
};
