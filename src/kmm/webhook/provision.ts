/**
 * Self-managed certificates in a cluster: the pair lives in a Secret (so every replica serves
 * the same one), is written to the files the server reads, and its CA is put into the
 * ValidatingWebhookConfiguration's caBundle. With cert-manager or the OpenShift service CA the
 * files come from a mounted Secret instead and none of this runs.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  isKubeError,
  ResourceClient,
  Secrets,
  ValidatingWebhookConfigurations,
  type KubeClient,
  type KubeObject,
  type Logger,
} from '../../runtime/index.js';
import {
  certificateUsable,
  generateServingCertificate,
  type ServingCertificate,
} from '../../pki/index.js';

/** Renew when less than this is left (a year's certificate, renewed after about 11 months). */
export const RENEW_BEFORE_MS = 30 * 86_400_000;

export interface SelfManagedCertificateOptions {
  /** Directory the server reads tls.crt and tls.key from (ca.crt is written too). */
  certDir: string;
  dnsNames: string[];
  ipAddresses?: string[];
  /** With a client: the Secret shared by the replicas (created or renewed as needed). */
  client?: KubeClient;
  secretNamespace?: string;
  secretName?: string;
  /** ValidatingWebhookConfiguration whose webhooks get the CA as caBundle. */
  webhookConfigurationName?: string;
  log?: Logger;
}

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
  caPem: string;
}

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) =>
  s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');

function readDir(dir: string): Partial<ServingCertificate> {
  const read = (f: string) => {
    try {
      return readFileSync(join(dir, f), 'utf8');
    } catch {
      return undefined;
    }
  };
  return { caPem: read('ca.crt'), certPem: read('tls.crt'), keyPem: read('tls.key') };
}

/** Key first, then certificate, each renamed into place: the server never reads a torn file. */
function writeDir(dir: string, pair: ServingCertificate): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [f, v] of [
    ['ca.crt', pair.caPem],
    ['tls.key', pair.keyPem],
    ['tls.crt', pair.certPem],
  ] as const) {
    writeFileSync(join(dir, `.${f}.new`), v, { mode: 0o600 });
    renameSync(join(dir, `.${f}.new`), join(dir, f));
  }
}

async function fromSecret(
  opts: SelfManagedCertificateOptions,
  secrets: ResourceClient<Secret>,
  usable: (p: Partial<ServingCertificate>) => boolean,
): Promise<ServingCertificate> {
  const name = opts.secretName!;
  const namespace = opts.secretNamespace!;
  for (let attempt = 0; ; attempt++) {
    const existing = await secrets.find(name, namespace);
    const stored = {
      caPem: unb64(existing?.data?.['ca.crt']),
      certPem: unb64(existing?.data?.['tls.crt']),
      keyPem: unb64(existing?.data?.['tls.key']),
    };
    if (usable(stored)) return stored as ServingCertificate;
    const pair = generateServingCertificate(opts);
    const data = {
      'ca.crt': b64(pair.caPem),
      'tls.crt': b64(pair.certPem),
      'tls.key': b64(pair.keyPem),
    };
    try {
      if (existing) {
        // resourceVersion guards against two replicas renewing at once: the loser re-reads.
        await secrets.update({ ...existing, data });
      } else {
        await secrets.create({
          metadata: { name, namespace, labels: { 'app.kubernetes.io/component': 'kmm-webhook' } },
          type: 'kubernetes.io/tls',
          data,
        });
      }
      opts.log?.info('webhook certificate issued', { secret: `${namespace}/${name}` });
      return pair;
    } catch (e) {
      if (attempt < 3 && (isKubeError(e, 'Conflict') || isKubeError(e, 'AlreadyExists'))) continue;
      throw e;
    }
  }
}

interface WebhookConfiguration extends KubeObject {
  webhooks?: { name: string; clientConfig?: { caBundle?: string } }[];
}

async function injectCaBundle(client: KubeClient, name: string, caPem: string): Promise<void> {
  const api = new ResourceClient<WebhookConfiguration>(client, ValidatingWebhookConfigurations);
  const bundle = b64(caPem);
  for (let attempt = 0; ; attempt++) {
    const vwc = await api.get(name);
    const hooks = vwc.webhooks ?? [];
    if (hooks.every((h) => h.clientConfig?.caBundle === bundle)) return;
    for (const h of hooks) h.clientConfig = { ...h.clientConfig, caBundle: bundle };
    try {
      await api.update(vwc);
      return;
    } catch (e) {
      if (attempt < 3 && isKubeError(e, 'Conflict')) continue;
      throw e;
    }
  }
}

/**
 * Makes sure `certDir` holds a usable certificate for the names (from the Secret when a
 * client is given, else from the directory itself), issuing a new one when it is missing,
 * does not cover the names, or expires within RENEW_BEFORE_MS; then injects the CA.
 */
export async function ensureSelfManagedCertificate(
  opts: SelfManagedCertificateOptions,
  now = new Date(),
): Promise<CertificateFiles> {
  const usable = (p: Partial<ServingCertificate>) =>
    certificateUsable(p, opts, RENEW_BEFORE_MS, now);
  let pair: ServingCertificate;
  if (opts.client && opts.secretName && opts.secretNamespace) {
    const secrets = new ResourceClient<Secret>(opts.client, Secrets, 'kmm-webhook');
    pair = await fromSecret(opts, secrets, usable);
    const onDisk = readDir(opts.certDir);
    if (onDisk.certPem !== pair.certPem || onDisk.keyPem !== pair.keyPem)
      writeDir(opts.certDir, pair);
  } else {
    const onDisk = readDir(opts.certDir);
    if (usable(onDisk)) pair = onDisk as ServingCertificate;
    else {
      pair = generateServingCertificate(opts);
      writeDir(opts.certDir, pair);
      opts.log?.info('webhook certificate issued', { certDir: opts.certDir });
    }
  }
  if (opts.client && opts.webhookConfigurationName) {
    await injectCaBundle(opts.client, opts.webhookConfigurationName, pair.caPem);
  }
  return {
    certFile: join(opts.certDir, 'tls.crt'),
    keyFile: join(opts.certDir, 'tls.key'),
    caFile: join(opts.certDir, 'ca.crt'),
    caPem: pair.caPem,
  };
}
