import type { KubeObject } from './objects.js';

/** Where a kind lives in the API: enough to build its URLs. */
export interface ResourceType<T extends KubeObject = KubeObject> {
  group: string;
  version: string;
  /** The lower-case plural in URLs, e.g. "nodes". */
  plural: string;
  kind: string;
  namespaced: boolean;
  /** The kind has a status subresource (writes to .status go through /status). */
  statusSubresource?: boolean;
  /**
   * Never set: carries the object type for inference (`informer(Nodes)` is an Informer of
   * Node). A method, so that types stay assignable both ways.
   */
  _object?(o: T): void;
}

export function resourceType<T extends KubeObject = KubeObject>(
  t: Omit<ResourceType<T>, '_object'>,
): ResourceType<T> {
  return t;
}

export function apiVersionOf(t: ResourceType): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** "Node", "Pod.v1", "NodeFeature.nfd.k8s-sigs.io": a readable, unique name for logs and metrics. */
export function typeName(t: ResourceType): string {
  return t.group ? `${t.kind}.${t.group}` : t.kind;
}

/** The URL path of a collection, an object or a subresource of it. */
export function resourcePath(
  t: ResourceType,
  opts: { namespace?: string; name?: string; subresource?: string } = {},
): string {
  const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  let p = base;
  if (t.namespaced && opts.namespace) p += `/namespaces/${encodeURIComponent(opts.namespace)}`;
  p += `/${t.plural}`;
  if (opts.name !== undefined) p += `/${encodeURIComponent(opts.name)}`;
  if (opts.subresource) p += `/${opts.subresource}`;
  return p;
}

const core = (plural: string, kind: string, namespaced: boolean, status = false) =>
  resourceType({ group: '', version: 'v1', plural, kind, namespaced, statusSubresource: status });

/** Built-in kinds the controllers use. */
export const Nodes = core('nodes', 'Node', false, true);
export const Pods = core('pods', 'Pod', true, true);
export const Namespaces = core('namespaces', 'Namespace', false, true);
export const ConfigMaps = core('configmaps', 'ConfigMap', true);
export const Secrets = core('secrets', 'Secret', true);
export const Services = core('services', 'Service', true, true);
export const ServiceAccounts = core('serviceaccounts', 'ServiceAccount', true);
export const Events = core('events', 'Event', true);
export const DaemonSets = resourceType({
  group: 'apps',
  version: 'v1',
  plural: 'daemonsets',
  kind: 'DaemonSet',
  namespaced: true,
  statusSubresource: true,
});
export const Deployments = resourceType({
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  kind: 'Deployment',
  namespaced: true,
  statusSubresource: true,
});
export const Jobs = resourceType({
  group: 'batch',
  version: 'v1',
  plural: 'jobs',
  kind: 'Job',
  namespaced: true,
  statusSubresource: true,
});
export const Leases = resourceType({
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  kind: 'Lease',
  namespaced: true,
});
export const CustomResourceDefinitions = resourceType({
  group: 'apiextensions.k8s.io',
  version: 'v1',
  plural: 'customresourcedefinitions',
  kind: 'CustomResourceDefinition',
  namespaced: false,
  statusSubresource: true,
});
export const ValidatingWebhookConfigurations = resourceType({
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  plural: 'validatingwebhookconfigurations',
  kind: 'ValidatingWebhookConfiguration',
  namespaced: false,
});
export const MutatingWebhookConfigurations = resourceType({
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  plural: 'mutatingwebhookconfigurations',
  kind: 'MutatingWebhookConfiguration',
  namespaced: false,
});
