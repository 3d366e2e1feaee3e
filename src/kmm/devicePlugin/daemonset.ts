import type { Module } from '../../api/index.js';
import type { KubeObject, OwnerReference } from '../../runtime/index.js';
import { DEVICE_PLUGIN_LABEL, readyLabel, versionReadyLabel } from '../module/labels.js';
import type { SecurityOptions } from '../module/desired.js';
import { labelValue } from '../nmc/pod.js';

export interface DaemonSetObject extends KubeObject {
  spec: Record<string, unknown>;
  status?: { desiredNumberScheduled?: number; numberAvailable?: number; numberReady?: number };
}

/** Where kubelet's device plugin sockets live. */
const KUBELET_PLUGINS = '/var/lib/kubelet/device-plugins';

export function devicePluginName(module: Module): string {
  return `${module.metadata.name}-device-plugin`;
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
  const podLabels = { [DEVICE_PLUGIN_LABEL]: labelValue(name) };
  const container = (c: NonNullable<typeof dp.initContainer>, cname: string, mounts: boolean) => {
    const out: Record<string, unknown> = {
      name: cname,
      image: c.image,
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
