import { describeValue, fieldPath, quoteValue } from '../../runtime/quote.js';
import { parseGoDuration } from '../../runtime/duration.js';
import { parse } from 'yaml';

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

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function section(doc: Obj, key: string, known: string[]): Obj {
  const v = doc[key];
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new ConfigError(key, 'must be a map');
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) {
      throw new ConfigError(`${key}.${k}`, `unknown field; known fields: ${known.join(', ')}`);
    }
  }
  return v;
}

function take<T>(
  o: Obj,
  key: string,
  at: string,
  type: 'string' | 'boolean' | 'number',
  dflt: T,
): T {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== type) throw new ConfigError(at, `must be a ${type}, not ${describeValue(v)}`);
  if (type === 'number' && !Number.isInteger(v)) throw new ConfigError(at, 'must be an integer');
  return v as T;
}

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
  if (!isObj(doc)) throw new ConfigError('', 'must be a map of settings');
  const top = [
    'healthProbeBindAddress',
    'webhookPort',
    'leaderElection',
    'metrics',
    'worker',
    'job',
  ];
  for (const k of Object.keys(doc)) {
    if (!top.includes(k))
      throw new ConfigError(k, `unknown field; known fields: ${top.join(', ')}`);
  }
  const le = section(doc, 'leaderElection', ['enabled', 'resourceID']);
  const met = section(doc, 'metrics', ['bindAddress', 'enableAuthnAuthz', 'secureServing']);
  const w = section(doc, 'worker', ['runAsUser', 'seLinuxType', 'firmwareHostPath']);
  const job = section(doc, 'job', ['gcDelay']);
  const cfg: OperatorConfig = {
    healthProbeBindAddress: take(
      doc,
      'healthProbeBindAddress',
      'healthProbeBindAddress',
      'string',
      d.healthProbeBindAddress,
    ),
    webhookPort: take(doc, 'webhookPort', 'webhookPort', 'number', d.webhookPort),
    leaderElection: {
      enabled: take(le, 'enabled', 'leaderElection.enabled', 'boolean', d.leaderElection.enabled),
      resourceID: take(
        le,
        'resourceID',
        'leaderElection.resourceID',
        'string',
        d.leaderElection.resourceID,
      ),
    },
    metrics: {
      bindAddress: take(met, 'bindAddress', 'metrics.bindAddress', 'string', d.metrics.bindAddress),
      enableAuthnAuthz: take(
        met,
        'enableAuthnAuthz',
        'metrics.enableAuthnAuthz',
        'boolean',
        d.metrics.enableAuthnAuthz,
      ),
      secureServing: take(
        met,
        'secureServing',
        'metrics.secureServing',
        'boolean',
        d.metrics.secureServing,
      ),
    },
    worker: {
      runAsUser: take(w, 'runAsUser', 'worker.runAsUser', 'number', d.worker.runAsUser),
      seLinuxType: take(w, 'seLinuxType', 'worker.seLinuxType', 'string', d.worker.seLinuxType),
      firmwareHostPath: take(
        w,
        'firmwareHostPath',
        'worker.firmwareHostPath',
        'string',
        d.worker.firmwareHostPath,
      ),
    },
    job: { gcDelay: take(job, 'gcDelay', 'job.gcDelay', 'string', d.job.gcDelay), gcDelayMs: 0 },
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
