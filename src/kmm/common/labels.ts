/**
 * Names that are part of KMM's contract with users and other tools: node labels, finalizers,
 * event reasons, condition types. Spelled as upstream KMM spells them.
 */

const PREFIX = 'kmm.node.kubernetes.io';

/** On the Module: unload everywhere before it goes. */
export const MODULE_FINALIZER = `${PREFIX}/module-finalizer`;

/** `kmm.node.kubernetes.io/<ns>.<name>.ready`: the module is loaded on this node. */
export function readyLabel(namespace: string, name: string): string {
  return `${PREFIX}/${namespace}.${name}.ready`;
}

/** `kmm.node.kubernetes.io/<ns>.<name>.version.ready=<version>`: the version loaded here. */
export function versionReadyLabel(namespace: string, name: string): string {
  return `${PREFIX}/${namespace}.${name}.version.ready`;
}

/** Set by the administrator for ordered upgrades: the module version this node should run. */
export function versionModuleLabel(namespace: string, name: string): string {
  return `${PREFIX}/version-module.${namespace}.${name}`;
}

/** Labels this operator owns on Nodes (everything it may add or remove). */
export function isOwnedNodeLabel(key: string): boolean {
  if (!key.startsWith(`${PREFIX}/`)) return false;
  const rest = key.slice(PREFIX.length + 1);
  return rest.endsWith('.ready');
}

/** Labels on worker pods: which node, Module and action they are for. */
export const WORKER_LABELS = {
  role: `${PREFIX}/worker.role`,
  node: `${PREFIX}/worker.node`,
  moduleName: `${PREFIX}/module.name`,
  action: `${PREFIX}/worker.action`,
} as const;
/** The worker pod's config, delivered to it through a downward-API file. */
export const WORKER_CONFIG_ANNOTATION = `${PREFIX}/worker-config`;
/** On the NMC: the last load/unload failure of a module on that node (`<ns>.<name>` suffix). */
export function lastErrorAnnotation(namespace: string, name: string): string {
  return `${PREFIX}/last-error.${namespace}.${name}`;
}
export const LAST_ERROR_PREFIX = `${PREFIX}/last-error.`;

/** Labels on device-plugin DaemonSets and their pods. */
export const DEVICE_PLUGIN_LABEL = `${PREFIX}/device-plugin`;

/**
 * `beta.kmm.node.kubernetes.io/version-device-plugin.<ns>.<name>=<version>`: on the device-plugin
 * DaemonSet of one module version (ordered upgrade) and its pods, spelled as upstream.
 */
export function devicePluginVersionLabel(namespace: string, name: string): string {
  return `beta.${PREFIX}/version-device-plugin.${namespace}.${name}`;
}

/** Event reasons. */
export const EVENTS = {
  moduleLoaded: 'ModuleLoaded',
  moduleUnloaded: 'ModuleUnloaded',
  loadFailed: 'LoadFailed',
  unloadFailed: 'UnloadFailed',
  workerPodRejected: 'WorkerPodRejected',
} as const;

/** Module condition types and reasons (upstream has none; ours say what to do). */
export const CONDITIONS = {
  ready: 'Ready',
  progressing: 'Progressing',
  degraded: 'Degraded',
} as const;

export const REASONS = {
  allLoaded: 'ModuleLoaded',
  noNodes: 'NoMatchingNodes',
  loading: 'Loading',
  unloading: 'Unloading',
  noKernelMapping: 'NoKernelMapping',
  invalidModule: 'InvalidModule',
  imageMissing: 'ImageMissing',
  imagePending: 'ImagePending',
  loadFailed: 'LoadFailed',
  asExpected: 'AsExpected',
  devicePluginOnly: 'DevicePluginOnly',
  devicePluginStarting: 'DevicePluginStarting',
  /** Ordered upgrade: selected nodes carry no version-module label for the Module's version. */
  versionNotLabelled: 'VersionNotLabelled',
  /** An image's in-cluster build failed (the event reason of the image controllers). */
  buildFailed: 'BuildFailed',
  signFailed: 'SignFailed',
} as const;
