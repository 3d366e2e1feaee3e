/**
 * The NFD operator's contract with users: object names, labels, annotations, the finalizer,
 * condition types and reasons, and the settings read from its environment.
 */

/** The operands, as upstream names their programs, ServiceAccounts and workloads. */
export const COMPONENTS = ['nfd-master', 'nfd-worker', 'nfd-gc', 'nfd-topology-updater'] as const;
export type Component = (typeof COMPONENTS)[number];

/** The ConfigMap holding nfd-worker.conf (upstream's name). */
export const WORKER_CONFIG_MAP = 'nfd-worker-conf';
export const WORKER_CONFIG_KEY = 'nfd-worker.conf';
/** Where the worker reads its config; the ConfigMap is mounted as this directory. */
export const WORKER_CONFIG_DIR = '/etc/kubernetes/node-feature-discovery';

/** Upstream's spelling, so that CRs the upstream operator deployed are finalized too. */
export const FINALIZER = 'foreground-deletion';
export const FIELD_MANAGER = 'nfd-operator';

/** On every operand: which operator wrote it. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'nfd-operator';
/** Pod selector of each workload: its namespaced name, e.g. `nfd-worker` or `nfd-worker-blue`. */
export const APP_LABEL = 'app';
/**
 * Cluster-scoped operands (ClusterRoles and their bindings) cannot be owned by a namespaced
 * object; this annotation names the NodeFeatureDiscovery (`namespace/name`) that renders them.
 */
export const OWNER_ANNOTATION = 'nfd.openshift.io/owner';
/** Hash of the rendered object: a change replaces the rendered fields whole (see sync.ts). */
export const RENDERED_HASH_ANNOTATION = 'nfd.openshift.io/rendered-hash';

/** The port every operand serves /healthz, /readyz and /metrics on (their --port default). */
export const PROBE_PORT = 8080;
export const DEFAULT_SERVICE_PORT = 8080;

export const CONDITIONS = {
  available: 'Available',
  progressing: 'Progressing',
  degraded: 'Degraded',
  upgradeable: 'Upgradeable',
} as const;

/** Condition reasons; per-component ones are built by `componentReason`. */
export const REASONS = {
  available: 'AllComponentsAvailable',
  upToDate: 'AllComponentsUpToDate',
  asExpected: 'AsExpected',
  invalidSpec: 'ValidationFailed',
  noImage: 'NoOperandImage',
  applyFailed: 'ComponentCreationFailed',
  conflict: 'OwnedByAnother',
  deleting: 'Deleting',
} as const;

/**
 * In upstream's style: `nfd-worker`, `DaemonSet`, `Degraded` → `NFDWorkerDaemonSetDegraded`;
 * `nfd-topology-updater` → `NFDTopologyUpdaterDaemonSet…`.
 */
export function componentReason(c: Component, kind: string, what: string): string {
  const words = c
    .replace(/^nfd-/, '')
    .replace(/(^|-)([a-z])/g, (_, __, ch: string) => ch.toUpperCase());
  return `NFD${words}${kind}${what}`;
}

/** Event reasons. */
export const EVENTS = {
  applied: 'OperandApplied',
  deleted: 'OperandDeleted',
  pruned: 'NodesPruned',
  invalid: 'InvalidSpec',
  unsupported: 'UnsupportedField',
} as const;

/**
 * Operator settings from its environment, as an OLM bundle sets them: the operand image
 * (hwe, whose entry points are named as upstream's programs).
 */
export const ENV = {
  operandImage: 'RELATED_IMAGE_NFD',
  topologyUpdaterImage: 'RELATED_IMAGE_NFD_TOPOLOGY_UPDATER',
  operatorNamespace: 'OPERATOR_NAMESPACE',
} as const;
