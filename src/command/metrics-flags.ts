/**
 * The secure-metrics flags every program with a /metrics endpoint takes, spelled as
 * controller-runtime operators spell them.
 */
import type { CommandContext, FlagSpec } from './command.js';

export const METRICS_SECURE_FLAG: FlagSpec = {
  name: 'metrics-secure',
  type: 'boolean',
  help: 'serve /metrics over HTTPS to callers allowed "get" on /metrics (TokenReview, SubjectAccessReview), default true except on a loopback address; =false serves plain HTTP',
};

export const METRICS_CERT_DIR_FLAG: FlagSpec = {
  name: 'metrics-cert-dir',
  type: 'string',
  placeholder: 'DIR',
  help: 'directory with tls.crt and tls.key for /metrics, re-read when they change (default: a self-signed certificate generated at start)',
};

/**
 * The serving flags of the NFD daemons (upstream's single-dash `-port`, plus `-metrics` and the
 * two above): probes and plain metrics on one port, or metrics on a port of their own.
 */
export const PORT_AND_METRICS_FLAGS: readonly FlagSpec[] = [
  {
    name: 'port',
    type: 'number',
    default: 8080,
    help: 'port for /healthz, /readyz and /metrics (0: any free port)',
  },
  {
    name: 'metrics',
    type: 'number',
    help: 'serve /metrics on this port instead of --port, over HTTPS unless --metrics-secure=false',
  },
  METRICS_SECURE_FLAG,
  METRICS_CERT_DIR_FLAG,
];

/**
 * The manager options the two flags give; `secureDefault` is the program's config value.
 * Left undefined, the manager serves securely except on a loopback address.
 */
export function metricsServing(
  ctx: CommandContext,
  secureDefault?: boolean,
): { metricsSecure: boolean | undefined; metricsCertDir: string | undefined } {
  const secure = ctx.flags['metrics-secure'];
  const dir = ctx.flags['metrics-cert-dir'];
  return {
    metricsSecure: typeof secure === 'boolean' ? secure : secureDefault,
    metricsCertDir: typeof dir === 'string' && dir !== '' ? dir : undefined,
  };
}
