import { parse } from 'yaml';
import { DecodeError, decode } from '../../api/decode.js';
import { isMap } from '../../runtime/objects.js';
import { bool, int32, int64, obj, opt, str, type Static } from '../../api/schema.js';
import { parseGoDuration } from '../../runtime/duration.js';
import { fieldPath, quoteValue } from '../../runtime/quote.js';

/** The KMM operator configuration (upstream `internal/config`, SPEC §3.9). */
export interface OperatorConfig {
  healthProbeBindAddress: string;
  webhookPort: number;
  leaderElection: { enabled: boolean; resourceID: string };
  metrics: { bindAddress: string; enableAuthnAuthz: boolean; secureServing: boolean };
  worker: {
    runAsUser: number;
    seLinuxType: string;
    firmwareHostPath: string;
  };
  job: { gcDelay: string; gcDelayMs: number };
}

/** The ConfigMap holding the config, and its key, as upstream ships them. */
export const CONFIG_MAP_NAME = 'kmm-operator-manager-config';
export const CONFIG_KEY = 'controller_config.yaml';

export class ConfigError extends Error {
  readonly kind = 'InvalidConfig';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(field ? `${fieldPath(field)}: ${detail}` : detail);
    this.name = 'ConfigError';
  }
}

export function defaultConfig(): OperatorConfig {
  return {
    healthProbeBindAddress: ':8081',
    webhookPort: 9443,
    leaderElection: { enabled: true, resourceID: 'kmm.sigs.x-k8s.io' },
    metrics: { bindAddress: '0.0.0.0:8443', enableAuthnAuthz: true, secureServing: true },
    worker: { runAsUser: 0, seLinuxType: 'spc_t', firmwareHostPath: '/var/lib/firmware' },
    job: { gcDelay: '0s', gcDelayMs: 0 },
  };
}

/** The config file's schema: every field optional (defaults fill the rest), none unknown. */
const OperatorConfigFile = obj({
  healthProbeBindAddress: opt(str()),
  webhookPort: opt(int32()),
  leaderElection: opt(obj({ enabled: opt(bool()), resourceID: opt(str()) })),
  metrics: opt(
    obj({ bindAddress: opt(str()), enableAuthnAuthz: opt(bool()), secureServing: opt(bool()) }),
  ),
  worker: opt(
    obj({ runAsUser: opt(int64()), seLinuxType: opt(str()), firmwareHostPath: opt(str()) }),
  ),
  job: opt(obj({ gcDelay: opt(str()) })),
});

/**
 * Parses the operator config strictly, as upstream does: unknown or misspelt fields are
 * errors naming the field, not silently ignored settings. Missing fields take the defaults.
 */
export function parseOperatorConfig(text: string): OperatorConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new ConfigError('', `not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const d = defaultConfig();
  if (doc === null || doc === undefined) return d;
  if (!isMap(doc)) throw new ConfigError('', 'must be a map of settings');
  let f: Static<typeof OperatorConfigFile>;
  try {
    f = decode(OperatorConfigFile, doc, { strict: true });
  } catch (e) {
    if (e instanceof DecodeError) throw new ConfigError(e.path, e.detail);
    throw e;
  }
  const cfg: OperatorConfig = {
    healthProbeBindAddress: f.healthProbeBindAddress ?? d.healthProbeBindAddress,
    webhookPort: f.webhookPort ?? d.webhookPort,
    leaderElection: { ...d.leaderElection, ...f.leaderElection },
    metrics: { ...d.metrics, ...f.metrics },
    worker: { ...d.worker, ...f.worker },
    job: { gcDelay: f.job?.gcDelay ?? d.job.gcDelay, gcDelayMs: 0 },
  };
  if (cfg.webhookPort < 1 || cfg.webhookPort > 65535) {
    throw new ConfigError('webhookPort', `${cfg.webhookPort} is not a port (1-65535)`);
  }
  if (cfg.worker.runAsUser < 0) throw new ConfigError('worker.runAsUser', 'must be 0 or more');
  if (!cfg.worker.firmwareHostPath.startsWith('/')) {
    throw new ConfigError(
      'worker.firmwareHostPath',
      `${quoteValue(cfg.worker.firmwareHostPath)} must be an absolute path on the nodes`,
    );
  }
  if (!cfg.leaderElection.resourceID) {
    throw new ConfigError('leaderElection.resourceID', 'must not be empty: it names the Lease');
  }
  const ms = parseGoDuration(cfg.job.gcDelay);
  if (ms === undefined || ms < 0) {
    throw new ConfigError(
      'job.gcDelay',
      `${quoteValue(cfg.job.gcDelay)} is not a duration; write e.g. 0s, 30s, 1h`,
    );
  }
  cfg.job.gcDelayMs = ms;
  return cfg;
}

/** The defaults as a config file, for the ConfigMap the operator creates when there is none. */
export function defaultConfigYaml(): string {
  const d = defaultConfig();
  return [
    `healthProbeBindAddress: "${d.healthProbeBindAddress}"`,
    `webhookPort: ${d.webhookPort}`,
    'leaderElection:',
    `  enabled: ${d.leaderElection.enabled}`,
    `  resourceID: ${d.leaderElection.resourceID}`,
    'metrics:',
    `  bindAddress: "${d.metrics.bindAddress}"`,
    `  enableAuthnAuthz: ${d.metrics.enableAuthnAuthz}`,
    `  secureServing: ${d.metrics.secureServing}`,
    'worker:',
    `  runAsUser: ${d.worker.runAsUser}`,
    `  seLinuxType: ${d.worker.seLinuxType}`,
    `  firmwareHostPath: ${d.worker.firmwareHostPath}`,
    'job:',
    `  gcDelay: ${d.job.gcDelay}`,
    '',
  ].join('\n');
}

/** KMM_MANAGED as upstream reads it (Go's strconv.ParseBool); unset or unreadable is false. */
export function isManaged(value: string | undefined): boolean {
  return ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value ?? '');
}
