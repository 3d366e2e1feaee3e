/**
 * The KMM admission webhook: the checks of src/kmm/validation served over the runtime's
 * WebhookServer, at upstream's paths, so upstream's manifests point at the right handlers.
 */
import {
  allow,
  deny,
  isKubeError,
  silentLogger,
  WebhookServer,
  type AdmissionRequest,
  type KubeClient,
  type KubeObject,
  type Logger,
  type Runnable,
  type ValidationResult,
} from '../../runtime/index.js';
import { formatErrors, validateKmmObject, validateNamespaceDeletion } from '../validation/index.js';
import { ensureSelfManagedCertificate, RENEW_BEFORE_MS } from './provision.js';

/** Upstream's webhook paths (controller-runtime's `/validate-<group>-<version>-<kind>`). */
export const WEBHOOK_PATHS = {
  module: '/validate-kmm-sigs-x-k8s-io-v1beta1-module',
  preflightValidation: '/validate-kmm-sigs-x-k8s-io-v1beta2-preflightvalidation',
  preflightValidationOCP: '/validate-kmm-sigs-x-k8s-io-v1beta2-preflightvalidationocp',
  managedClusterModule: '/validate-hub-kmm-sigs-x-k8s-io-v1beta1-managedclustermodule',
  namespace: '/validate--v1-namespace',
} as const;

/** Create and update of any KMM kind; deletes are always allowed. */
export function validateKmmAdmission(req: AdmissionRequest): ValidationResult {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow();
  const old = req.operation === 'UPDATE' ? req.oldObject : undefined;
  if (old && req.object) {
    // Objects admitted before a check existed (or before the webhook was installed) must stay
    // deletable and manageable: a finalizer removal or a label change leaves the spec alone.
    if (req.object.metadata.deletionTimestamp) return allow();
    const spec = (o: unknown) => JSON.stringify((o as { spec?: unknown }).spec);
    if (spec(req.object) === spec(old)) return allow();
  }
  const report = validateKmmObject(req.object, old);
  if (!report) {
    return deny(
      `this webhook validates KMM kinds only; got ${req.kind.group}/${req.kind.kind}`,
      400,
    );
  }
  if (report.errors.length === 0) return allow();
  return deny(`${report.kind} ${report.name ?? ''} is invalid: ${formatErrors(report.errors)}`);
}

const MODULES_PATH = (ns: string) =>
  `/apis/kmm.sigs.x-k8s.io/v1beta1/namespaces/${encodeURIComponent(ns)}/modules?limit=6`;

/** Refuses deleting a namespace that still holds Modules; allows every other operation. */
export function namespaceGuard(client: KubeClient) {
  return async (req: AdmissionRequest): Promise<ValidationResult> => {
    if (req.operation !== 'DELETE') return allow();
    const ns = req.name ?? req.oldObject?.metadata.name ?? '';
    let names: string[];
    try {
      const list = await client.request<{ items: KubeObject[] }>(MODULES_PATH(ns));
      names = list.items.map((m) => m.metadata.name ?? '');
    } catch (e) {
      // No Module CRD in this cluster: there can be no Modules to protect.
      if (isKubeError(e, 'NotFound')) return allow();
      throw e;
    }
    const errors = validateNamespaceDeletion(ns, names);
    return errors.length ? deny(formatErrors(errors)) : allow();
  };
}

/** Registers the KMM handlers on a server; the namespace guard needs a client. */
export function registerKmmWebhooks(server: WebhookServer, client?: KubeClient): WebhookServer {
  for (const path of [
    WEBHOOK_PATHS.module,
    WEBHOOK_PATHS.preflightValidation,
    WEBHOOK_PATHS.preflightValidationOCP,
    WEBHOOK_PATHS.managedClusterModule,
  ]) {
    server.validating(path, validateKmmAdmission);
  }
  if (client) server.validating(WEBHOOK_PATHS.namespace, namespaceGuard(client));
  return server;
}

export interface KmmWebhookOptions {
  /** Needed for the namespace guard and for self-managed certificates kept in a Secret. */
  client?: KubeClient;
  host?: string;
  /** Default 9443, upstream's webhookPort; 0 picks a free port. */
  port?: number;
  /**
   * Certificate source. `files`: tls.crt/tls.key given (cert-manager, OpenShift service CA),
   * re-read when they change. `self`: issued and renewed by the webhook itself.
   */
  certificates:
    | { mode: 'files'; certFile: string; keyFile: string }
    | {
        mode: 'self';
        certDir: string;
        dnsNames: string[];
        ipAddresses?: string[];
        secretNamespace?: string;
        secretName?: string;
        webhookConfigurationName?: string;
      };
  reloadIntervalMs?: number;
  /** How often a self-managed certificate is checked for renewal (default 12 h). */
  renewCheckIntervalMs?: number;
  log?: Logger;
}

export interface KmmWebhook {
  server: WebhookServer;
  port: number;
  /** PEM of the CA for caBundle (self-managed mode). */
  caPem?: string;
  stop(): Promise<void>;
}

/**
 * Starts the KMM webhook: provisions a self-managed certificate if asked to, serves the
 * handlers, and keeps the certificate renewed. Callers put it behind a
 * ValidatingWebhookConfiguration with failurePolicy Fail.
 */
export async function startKmmWebhook(opts: KmmWebhookOptions): Promise<KmmWebhook> {
  const log = (opts.log ?? silentLogger).child({ logger: 'kmm-webhook' });
  const c = opts.certificates;
  let files: { certFile: string; keyFile: string };
  let caPem: string | undefined;
  let renew: (() => Promise<unknown>) | undefined;
  if (c.mode === 'self') {
    const provision = () =>
      ensureSelfManagedCertificate({ ...c, ...(opts.client ? { client: opts.client } : {}), log });
    const first = await provision();
    files = first;
    caPem = first.caPem;
    renew = provision;
  } else {
    files = c;
  }
  const server = registerKmmWebhooks(
    new WebhookServer({
      host: opts.host,
      port: opts.port ?? 9443,
      certFile: files.certFile,
      keyFile: files.keyFile,
      reloadIntervalMs: opts.reloadIntervalMs,
      log,
    }),
    opts.client,
  );
  const address = await server.start();
  let timer: ReturnType<typeof setInterval> | undefined;
  if (renew) {
    const again = renew;
    timer = setInterval(
      () =>
        void again().catch((e: unknown) =>
          log.error('could not renew the webhook certificate', {
            error: e,
            renewBeforeDays: RENEW_BEFORE_MS / 86_400_000,
          }),
        ),
      opts.renewCheckIntervalMs ?? 12 * 3_600_000,
    );
    timer.unref();
  }
  return {
    server,
    port: address.port,
    ...(caPem ? { caPem } : {}),
    stop: async () => {
      if (timer) clearInterval(timer);
      await server.stop();
    },
  };
}

/** The webhook as a manager runnable (serves on every replica, leader or not). */
export function kmmWebhookRunnable(opts: KmmWebhookOptions): Runnable {
  return {
    name: 'kmm-webhook',
    needLeaderElection: false,
    start: async (signal) => {
      const hook = await startKmmWebhook(opts);
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      await hook.stop();
    },
  };
}
