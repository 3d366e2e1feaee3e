/**
 * The ValidatingWebhookConfiguration of the KMM webhook, as an object (config/webhook/ holds
 * the same for an in-cluster Service). Every webhook fails closed: an object the webhook could
 * not see is an object nobody checked.
 */
import type { KubeObject } from '../../runtime/index.js';
import { WEBHOOK_PATHS } from './server.js';

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };

export interface WebhookConfigurationOptions {
  name: string;
  /** Where the apiserver reaches the webhook: a URL base (local) or a Service. */
  target: { url: string } | { service: { namespace: string; name: string; port?: number } };
  caPem?: string;
  /** Narrows namespaced checks (Modules, namespace deletion) to some namespaces. */
  namespaceSelector?: Selector;
  /** Narrows every check to labelled objects (tests sharing a cluster use it). */
  objectSelector?: Selector;
  timeoutSeconds?: number;
}

export interface ValidatingWebhookConfiguration extends KubeObject {
  webhooks: Record<string, unknown>[];
}

const KINDS = [
  {
    path: WEBHOOK_PATHS.module,
    group: 'kmm.sigs.x-k8s.io',
    version: 'v1beta1',
    resource: 'modules',
    scope: 'Namespaced',
    hook: 'vmodule.kb.io',
  },
  {
    path: WEBHOOK_PATHS.preflightValidation,
    group: 'kmm.sigs.x-k8s.io',
    version: 'v1beta2',
    resource: 'preflightvalidations',
    scope: 'Cluster',
    hook: 'vpreflightvalidation.kb.io',
  },
  {
    path: WEBHOOK_PATHS.preflightValidationOCP,
    group: 'kmm.sigs.x-k8s.io',
    version: 'v1beta2',
    resource: 'preflightvalidationsocp',
    scope: 'Cluster',
    hook: 'vpreflightvalidationocp.kb.io',
  },
  {
    path: WEBHOOK_PATHS.managedClusterModule,
    group: 'hub.kmm.sigs.x-k8s.io',
    version: 'v1beta1',
    resource: 'managedclustermodules',
    scope: 'Cluster',
    hook: 'vmanagedclustermodule.kb.io',
  },
] as const;

export function kmmWebhookConfiguration(
  o: WebhookConfigurationOptions,
): ValidatingWebhookConfiguration {
  const clientConfig = (path: string) => ({
    ...('url' in o.target
      ? { url: `${o.target.url.replace(/\/$/, '')}${path}` }
      : { service: { ...o.target.service, port: o.target.service.port ?? 443, path } }),
    ...(o.caPem ? { caBundle: Buffer.from(o.caPem).toString('base64') } : {}),
  });
  const common = {
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    timeoutSeconds: o.timeoutSeconds ?? 10,
    ...(o.objectSelector ? { objectSelector: o.objectSelector } : {}),
  };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: o.name },
    webhooks: [
      ...KINDS.map((k) => ({
        name: k.hook,
        clientConfig: clientConfig(k.path),
        rules: [
          {
            apiGroups: [k.group],
            apiVersions: [k.version],
            operations: ['CREATE', 'UPDATE'],
            resources: [k.resource],
            scope: k.scope,
          },
        ],
        ...(k.scope === 'Namespaced' && o.namespaceSelector
          ? { namespaceSelector: o.namespaceSelector }
          : {}),
        ...common,
      })),
      {
        name: 'namespace-deletion.kmm.sigs.x-k8s.io',
        clientConfig: clientConfig(WEBHOOK_PATHS.namespace),
        rules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            operations: ['DELETE'],
            resources: ['namespaces'],
            scope: 'Cluster',
          },
        ],
        ...(o.namespaceSelector ? { namespaceSelector: o.namespaceSelector } : {}),
        ...common,
      },
    ],
  };
}
