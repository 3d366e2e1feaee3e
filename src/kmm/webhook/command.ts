import { type Command, UsageError, stopSignal } from '../../command/index.js';
import { createLogger, KubeClient, resolveAccess } from '../../runtime/index.js';
import { startKmmWebhook, type KmmWebhookOptions } from './server.js';

export const webhookCommand: Command = {
  name: 'webhook',
  summary: 'serve the KMM admission webhook (Module, PreflightValidation, namespace deletion)',
  description:
    'Serves the KMM validating webhook over HTTPS until SIGTERM. Certificates are either\n' +
    'mounted files (--cert-file/--key-file, e.g. from cert-manager or the OpenShift service CA),\n' +
    're-read when they change, or self-managed (--cert-dir with --dns-name): issued, kept in\n' +
    '--secret-name when a cluster is reachable, renewed 30 days before expiry, and injected as\n' +
    'caBundle into --webhook-config-name. See config/webhook/README.md.',
  flags: [
    {
      name: 'kubeconfig',
      type: 'string',
      placeholder: 'FILE',
      help: 'cluster access (else KUBECONFIG, in-cluster)',
    },
    { name: 'host', type: 'string', default: '0.0.0.0', help: 'address to listen on' },
    {
      name: 'port',
      type: 'number',
      default: 9443,
      help: 'port to listen on (upstream webhookPort)',
    },
    { name: 'cert-file', type: 'string', placeholder: 'FILE', help: 'serving certificate (PEM)' },
    { name: 'key-file', type: 'string', placeholder: 'FILE', help: 'its private key (PEM)' },
    {
      name: 'cert-dir',
      type: 'string',
      placeholder: 'DIR',
      help: 'self-managed: where tls.crt, tls.key and ca.crt are written',
    },
    {
      name: 'dns-name',
      type: 'list',
      placeholder: 'NAME',
      help: 'self-managed: DNS names of the certificate, e.g. kmm-webhook.openshift-kmm.svc',
    },
    {
      name: 'ip',
      type: 'list',
      placeholder: 'IP',
      help: 'self-managed: IP addresses of the certificate',
    },
    {
      name: 'secret-namespace',
      type: 'string',
      help: 'self-managed: namespace of the certificate Secret (default POD_NAMESPACE)',
    },
    { name: 'secret-name', type: 'string', help: 'self-managed: name of the certificate Secret' },
    {
      name: 'webhook-config-name',
      type: 'string',
      help: 'self-managed: ValidatingWebhookConfiguration to put the CA into',
    },
    {
      name: 'no-cluster',
      type: 'boolean',
      help: 'serve without cluster access (no namespace-deletion guard)',
    },
  ],
  run: async ({ flags, env, stderr }) => {
    const str = (n: string) => flags[n] as string | undefined;
    const list = (n: string) => (flags[n] as string[] | undefined) ?? [];
    const log = createLogger({ name: 'kmm-webhook' });
    let certificates: KmmWebhookOptions['certificates'];
    if (str('cert-file') || str('key-file')) {
      if (!str('cert-file') || !str('key-file') || str('cert-dir')) {
        throw new UsageError('give --cert-file and --key-file together, or --cert-dir alone');
      }
      certificates = { mode: 'files', certFile: str('cert-file')!, keyFile: str('key-file')! };
    } else if (str('cert-dir')) {
      if (!list('dns-name').length && !list('ip').length) {
        throw new UsageError(
          '--cert-dir needs at least one --dns-name or --ip for the certificate',
        );
      }
      const secretNamespace = str('secret-namespace') ?? env.POD_NAMESPACE;
      certificates = {
        mode: 'self',
        certDir: str('cert-dir')!,
        dnsNames: list('dns-name'),
        ipAddresses: list('ip'),
        ...(secretNamespace ? { secretNamespace } : {}),
        ...(str('secret-name') ? { secretName: str('secret-name')! } : {}),
        ...(str('webhook-config-name')
          ? { webhookConfigurationName: str('webhook-config-name')! }
          : {}),
      };
    } else {
      throw new UsageError('give --cert-file and --key-file, or --cert-dir with --dns-name');
    }
    const client = flags['no-cluster']
      ? undefined
      : new KubeClient(resolveAccess({ kubeconfig: str('kubeconfig'), env }));
    const hook = await startKmmWebhook({
      ...(client ? { client } : {}),
      host: str('host'),
      port: flags.port as number,
      certificates,
      log,
    });
    stderr.write(`kmm webhook serving on port ${hook.port}\n`);
    await stopSignal();
    await hook.stop();
    client?.close();
    return 0;
  },
};
