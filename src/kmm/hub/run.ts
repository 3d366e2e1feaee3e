import { type CommandContext, UsageError } from '../../command/index.js';
import { VERSION } from '../../version.js';
import { EventRecorder, KubeClient, Manager, resolveAccess } from '../../runtime/index.js';
import { setupImageControllers } from '../images/index.js';
import { DEFAULT_BUILD_IMAGE } from '../operator/run.js';
import { setupHubController } from './controller.js';
import { quoteValue } from '../../runtime/quote.js';

/** Upstream's Lease name for KMM-Hub. */
const LEASE = 'kmm-hub.sigs.x-k8s.io';

export async function run(ctx: CommandContext): Promise<number> {
  const { flags, env } = ctx;
  if (ctx.args.length) throw new UsageError(`unexpected argument ${quoteValue(ctx.args[0])}`);
  const namespace =
    (flags.namespace as string | undefined) ?? env.OPERATOR_NAMESPACE ?? 'openshift-kmm-hub';
  const client = new KubeClient(
    resolveAccess({ kubeconfig: flags.kubeconfig as string | undefined, env }),
  );
  const mgr = new Manager({
    client,
    name: 'kmm-hub',
    leaderElection: flags['leader-elect'] ? { namespace, name: LEASE } : undefined,
    healthProbeAddress: (flags['health-probe-bind-address'] as string | undefined) ?? ':8081',
    metricsAddress: (flags['metrics-bind-address'] as string | undefined) ?? '127.0.0.1:8080',
  }).stopOnSignals();
  const events = new EventRecorder(client, { component: 'kmm-hub' }, mgr.log);
  // Builds and signs run in the hub operator's namespace, from the MICs the hub writes there.
  await setupImageControllers(mgr, {
    namespace,
    signImage:
      (flags['sign-image'] as string | undefined) ??
      env.RELATED_IMAGE_SIGN ??
      `quay.io/hwe/hwe:${VERSION}`,
    buildImage:
      (flags['build-image'] as string | undefined) ??
      env.RELATED_IMAGE_BUILD ??
      DEFAULT_BUILD_IMAGE,
    events,
  });
  setupHubController(mgr, { namespace, events });
  mgr.log.info('kmm hub', { namespace });
  await mgr.start();
  await mgr.wait();
  return 0;
}
