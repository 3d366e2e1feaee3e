import type { Module } from '../../api/index.js';
import { deepEqual, type KubeObject, type OwnerReference } from '../../runtime/index.js';
import {
  DEVICE_PLUGIN_LABEL,
  devicePluginVersionLabel,
  labelValue,
  readyLabel,
  type SecurityOptions,
  shortHash,
  versionReadyLabel,
} from '../common/index.js';

export interface DaemonSetObject extends KubeObject {
  spec: Record<string, unknown>;
  status?: { desiredNumberScheduled?: number; numberAvailable?: number; numberReady?: number };
}

/** Where kubelet's device plugin sockets live. */
const KUBELET_PLUGINS = '/var/lib/kubelet/device-plugins';

/**
 * `<module>-device-plugin`, and `-<version>` after it for a versioned Module: one DaemonSet per
 * version, so nodes still on an older version keep their plugin during an ordered upgrade. A
 * version that is not a valid name part is lowered and gets a hash, so two versions never
 * share a name.
 */
export function devicePluginName(module: Module): string {
  const base = `${module.metadata.name}-device-plugin`;
  const version = moduleVersion(module);
  if (!version) return base;
  const safe = version
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const suffix =
    safe === version && safe.length <= 63 ? safe : `${safe.slice(0, 52)}-${shortHash(version)}`;
  return `${base}-${suffix}`;
}

/** The Module's `moduleLoader.container.version`, '' when it has none. */
function moduleVersion(module: Module): string {
  return module.spec.moduleLoader?.container.version ?? '';
}

/**
 * The module version a device-plugin DaemonSet serves: its version label, or for one made
 * before the label existed the `.version.ready` value of its node selector; '' without version.
 */
function daemonSetVersion(ds: DaemonSetObject, module: Module): string {
  const ns = module.metadata.namespace ?? '';
  const name = module.metadata.name ?? '';
  const label = ds.metadata.labels?.[devicePluginVersionLabel(ns, name)];
  if (label !== undefined) return label;
  const spec = ds.spec as { template?: { spec?: { nodeSelector?: Record<string, string> } } };
  return spec.template?.spec?.nodeSelector?.[versionReadyLabel(ns, name)] ?? '';
}

/** What to do with a Module's device-plugin DaemonSets. */
export interface DevicePluginPlan {
  /** The DaemonSet of the Module's current version, as it should be. */
  want?: DaemonSetObject;
  /** The existing DaemonSet of that version, if any (whatever its name). */
  have?: DaemonSetObject;
  /** DaemonSets to delete: older versions no node runs any more, or every one without devicePlugin. */
  remove: DaemonSetObject[];
  /** DaemonSets kept as they are: older versions some node still runs. */
  keep: DaemonSetObject[];
}

/**
 * Decides the device-plugin DaemonSets of a Module, as upstream: one per module version; the
 * current version's is created or updated; an older one stays untouched (its pods keep the
 * plugin of that version on the nodes not yet moved) until no node runs that version.
 * `existing` are the DaemonSets the Module owns; `versionsInUse` the versions nodes have loaded
 * or are to load (NMC status and spec).
 */
export function planDevicePlugins(
  module: Module,
  existing: readonly DaemonSetObject[],
  versionsInUse: ReadonlySet<string>,
  owner: OwnerReference,
  serviceAccountName: string,
): DevicePluginPlan {
  const want = devicePluginDaemonSet(module, owner, serviceAccountName);
  const plan: DevicePluginPlan = { remove: [], keep: [] };
  if (!want) return { ...plan, remove: [...existing] };
  plan.want = want;
  const current = moduleVersion(module);
  for (const ds of existing) {
    const v = daemonSetVersion(ds, module);
    // The selector of a DaemonSet cannot change: one made before the version label is replaced.
    const sameSelector = deepEqual(ds.spec.selector, want.spec.selector);
    if (v === current && !plan.have && sameSelector) plan.have = ds;
    else if (v !== current && versionsInUse.has(v) && module.spec.moduleLoader) plan.keep.push(ds);
    else plan.remove.push(ds);
  }
  return plan;
}

/** The device plugin service account: the Module's, else the trusted namespace's, else default. */
export function devicePluginServiceAccount(
  module: Module,
  sec: SecurityOptions & { devicePluginServiceAccount: string },
): string {
  const own = module.spec.devicePlugin?.serviceAccountName;
  if (own) return own;
  return module.metadata.namespace === sec.operatorNamespace
    ? sec.devicePluginServiceAccount
    : 'default';
}

/**
 * The device-plugin DaemonSet of a Module: on the nodes matching its selector where the module
 * is ready (the `<ns>.<name>.ready` label, or `.version.ready=<v>` when the Module has a
 * version); with no moduleLoader (KMM 2.4 in-tree mode) on every selected node.
 */
export function devicePluginDaemonSet(
  module: Module,
  owner: OwnerReference,
  serviceAccountName: string,
): DaemonSetObject | undefined {
  const dp = module.spec.devicePlugin;
  if (!dp) return undefined;
  const ns = module.metadata.namespace ?? '';
  const name = module.metadata.name ?? '';
  const nodeSelector: Record<string, string> = { ...module.spec.selector };
  const loader = module.spec.moduleLoader;
  if (loader) {
    const version = loader.container.version;
    if (version) nodeSelector[versionReadyLabel(ns, name)] = version;
    else nodeSelector[readyLabel(ns, name)] = '';
  }
  const podLabels: Record<string, string> = { [DEVICE_PLUGIN_LABEL]: labelValue(name) };
  if (loader?.container.version) {
    podLabels[devicePluginVersionLabel(ns, name)] = loader.container.version;
  }
  const container = (c: NonNullable<typeof dp.initContainer>, cname: string, mounts: boolean) => {
    const out: Record<string, unknown> = {
      name: cname,
      image: c.image,
      // Pod Security `privileged`, as upstream KMM: a device plugin registers on the kubelet's
      // socket directory (a hostPath) and hands device nodes of the host to containers, which
      // needs the host's /dev as a privileged container sees it.
      securityContext: { privileged: true },
    };
    const volumeMounts = [
      ...(mounts ? [{ name: 'kubelet-device-plugins', mountPath: KUBELET_PLUGINS }] : []),
      ...(c.volumeMounts ?? []),
    ];
    if (volumeMounts.length) out.volumeMounts = volumeMounts;
    if (c.imagePullPolicy) out.imagePullPolicy = c.imagePullPolicy;
    if (c.command) out.command = c.command;
    if (c.args) out.args = c.args;
    if (c.env) out.env = c.env;
    if (c.resources) out.resources = c.resources;
    return out;
  };
  const podSpec: Record<string, unknown> = {
    nodeSelector,
    serviceAccountName,
    containers: [container(dp.container, 'device-plugin', true)],
    volumes: [
      { name: 'kubelet-device-plugins', hostPath: { path: KUBELET_PLUGINS } },
      ...(dp.volumes ?? []),
    ],
  };
  // Empty lists are left out: the apiserver drops them, and a diff against it must stay empty.
  if (module.spec.tolerations?.length) podSpec.tolerations = module.spec.tolerations;
  if (dp.initContainer) podSpec.initContainers = [container(dp.initContainer, 'init', false)];
  if (module.spec.imageRepoSecret?.name) {
    podSpec.imagePullSecrets = [{ name: module.spec.imageRepoSecret.name }];
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      name: devicePluginName(module),
      namespace: ns,
      labels: podLabels,
      ownerReferences: [owner],
    },
    spec: {
      selector: { matchLabels: podLabels },
      template: { metadata: { labels: podLabels }, spec: podSpec },
    },
  };
}
