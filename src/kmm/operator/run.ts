import { metricsServing } from '../../command/metrics-flags.js';
import { readFile } from 'node:fs/promises';
import { type CommandContext, UsageError } from '../../command/index.js';
import { VERSION } from '../../version.js';
import {
  ConfigMaps,
  isKubeError,
  KubeClient,
  Manager,
  resolveAccess,
  type KubeObject,
} from '../../runtime/index.js';
import {
  CONFIG_KEY,
  CONFIG_MAP_NAME,
  ConfigError,
  defaultConfigYaml,
  isManaged,
  parseOperatorConfig,
  type OperatorConfig,
} from './config.js';
import {
  OPERATOR_HEAP_GROWTH_PERCENT,
  OPERATOR_OPTIMIZE_FOR_SIZE,
  OPERATOR_LIST_PAGE_SIZE,
  OPERATOR_MAX_SOCKETS,
  setupKmmOperator,
} from './setup.js';
import { quoteValue } from '../../runtime/quote.js';

/** kaniko, when neither --build-image nor RELATED_IMAGE_BUILD names one. */
export const DEFAULT_BUILD_IMAGE = 'gcr.io/kaniko-project/executor:v1.23.2';

interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
}

/**
 * The config: --config FILE, else the ConfigMap in the operator's namespace. A missing
 * ConfigMap is created with the defaults and never rewritten, so edits survive upgrades.
 */
async function loadConfig(
  client: KubeClient,
  file: string | undefined,
  namespace: string,
): Promise<{ config: OperatorConfig; source: string }> {
  if (file) {
    const text = await readFile(file, 'utf8').catch((e: Error) => {
      throw new UsageError(`--config ${file}: ${e.message}`);
    });
    return { config: parseOperatorConfig(text), source: file };
  }
  const api = new Manager({ client, name: 'kmm' }).api<ConfigMapObject>(ConfigMaps);
  const source = `ConfigMap ${namespace}/${CONFIG_MAP_NAME} key ${CONFIG_KEY}`;
  let cm = await api.find(CONFIG_MAP_NAME, namespace);
  if (!cm) {
    try {
      cm = await api.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: CONFIG_MAP_NAME, namespace },
        data: { [CONFIG_KEY]: defaultConfigYaml() },
      });
    } catch (e) {
      if (!isKubeError(e, 'AlreadyExists')) throw e;
      cm = await api.get(CONFIG_MAP_NAME, namespace);
    }
  }
  const text = cm.data?.[CONFIG_KEY];
  if (text === undefined) {
    throw new ConfigError('', `${source}: the key is missing; put the operator config under it`);
  }
  try {
    return { config: parseOperatorConfig(text), source };
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(e.field, `${source}: ${e.message}`);
    throw e;
  }
}

export async function run(ctx: CommandContext): Promise<number> {
  const { flags, env, stderr } = ctx;
  if (ctx.args.length) throw new UsageError(`unexpected argument ${quoteValue(ctx.args[0])}`);
  const namespace =
    (flags.namespace as string | undefined) ?? env.OPERATOR_NAMESPACE ?? 'openshift-kmm';
  const workerImage =
    (flags['worker-image'] as string | undefined) ??
    env.RELATED_IMAGE_WORKER ??
    `quay.io/hwe/hwe:${VERSION}`;
  const client = new KubeClient(
    resolveAccess({ kubeconfig: flags.kubeconfig as string | undefined, env }),
    { maxSockets: OPERATOR_MAX_SOCKETS },
  );
  let loaded: { config: OperatorConfig; source: string };
  try {
    loaded = await loadConfig(client, flags.config as string | undefined, namespace);
  } catch (e) {
    client.close();
    if (e instanceof ConfigError) {
      stderr.write(`${ctx.path}: invalid operator config: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const { config } = loaded;
  const managed = isManaged(env.KMM_MANAGED);
  const mgr = new Manager({
    client,
    name: 'kmm',
    heapGrowthPercent: OPERATOR_HEAP_GROWTH_PERCENT,
    optimizeForSize: OPERATOR_OPTIMIZE_FOR_SIZE,
    informerDefaults: { pageSize: OPERATOR_LIST_PAGE_SIZE },
    leaderElection: config.leaderElection.enabled
      ? { namespace, name: config.leaderElection.resourceID }
      : undefined,
    healthProbeAddress:
      (flags['health-probe-bind-address'] as string | undefined) ?? config.healthProbeBindAddress,
    metricsAddress:
      (flags['metrics-bind-address'] as string | undefined) ?? config.metrics.bindAddress,
    ...metricsServing(ctx, config.metrics.secureServing),
    ...(config.metrics.enableAuthnAuthz ? {} : { metricsAuth: false as const }),
  }).stopOnSignals();
  mgr.log.info('operator config', { source: loaded.source, namespace, workerImage, managed });
  await setupKmmOperator(mgr, {
    managed,
    config,
    operatorNamespace: namespace,
    workerImage,
    signImage: (flags['sign-image'] as string | undefined) ?? env.RELATED_IMAGE_SIGN ?? workerImage,
    buildImage:
      (flags['build-image'] as string | undefined) ??
      env.RELATED_IMAGE_BUILD ??
      DEFAULT_BUILD_IMAGE,
  });
  await mgr.start();
  await mgr.wait();
  return 0;
}
