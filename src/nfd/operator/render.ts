/**
 * Everything the operator deploys for one NodeFeatureDiscovery, decided by one pure function:
 * `renderOperands(cr, settings)` → the objects that must exist and the ones that must not.
 * The reconciler only applies the result (sync.ts); this file is table-tested.
 */
import { isMap, isSeq, parseDocument, parse as parseYaml } from 'yaml';
import { RE2JS } from 're2js';
import type { NodeFeatureDiscovery, Toleration } from '../../api/index.js';
import type { KubeObject, OwnerReference } from '../../runtime/index.js';
import {
  APP_LABEL,
  type Component,
  DEFAULT_SERVICE_PORT,
  ENV,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  OWNER_ANNOTATION,
  PROBE_PORT,
  WORKER_CONFIG_DIR,
  WORKER_CONFIG_KEY,
  WORKER_CONFIG_MAP,
} from './constants.js';
import { boundedMessage, quoteValue } from '../../runtime/quote.js';

/** One rule of a Role or ClusterRole. */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** The permissions of each operand: cluster-wide and in the operands' namespace. */
export type OperandRbac = Record<Component, { cluster?: PolicyRule[]; namespaced?: PolicyRule[] }>;

export interface OperatorSettings {
  /** The operand image when the CR names none (env RELATED_IMAGE_NFD). */
  image?: string;
  /** The topology updater's image when the CR names none (RELATED_IMAGE_NFD_TOPOLOGY_UPDATER). */
  topologyUpdaterImage?: string;
  /** Operand RBAC, as shipped in config/nfd/operands (rbac.ts reads it). */
  rbac: OperandRbac;
}

/** An object to write: any Kubernetes object, typed loosely beyond its metadata. */
export type Operand = KubeObject & { apiVersion: string; kind: string } & Record<string, unknown>;

/**
 * What a CR asks for. Anything else the CR owns (a topology updater switched off, operands of a
 * former instance name) is deleted by the controller.
 */
export interface Rendered {
  /** In the order to apply them: identities and RBAC first, workloads last. */
  objects: Operand[];
  /** Fields accepted but not acted on, with the reason. */
  warnings: string[];
}

/** A CR that cannot be rendered; `field` is the path at fault, the message says the fix. */
export class RenderError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'RenderError';
  }
}

/** Lower-case DNS label: the instance becomes part of object names and label values. */
const INSTANCE_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_INSTANCE = 40;
const LABEL_NS_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$|^\*\.[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const NFD_API_VERSION = 'nfd.openshift.io/v1';
const RBAC = 'rbac.authorization.k8s.io/v1';

/** The names of a CR's operands. */
export interface OperandNames {
  /** Namespaced objects: `nfd-master`, or `nfd-master-<instance>`. */
  of(c: Component): string;
  configMap: string;
  /** Cluster-scoped objects: `<namespace>:nfd-master[-<instance>]`, unique across namespaces. */
  cluster(c: Component): string;
}

export function operandNames(cr: NodeFeatureDiscovery): OperandNames {
  const instance = cr.spec?.instance ?? '';
  const suffix = instance ? `-${instance}` : '';
  const ns = cr.metadata.namespace ?? '';
  return {
    of: (c) => `${c}${suffix}`,
    configMap: `${WORKER_CONFIG_MAP}${suffix}`,
    cluster: (c) => `${ns}:${c}${suffix}`,
  };
}

/** The CR's owner reference, as controller of every namespaced operand. */
function ownerOf(cr: NodeFeatureDiscovery): OwnerReference {
  return {
    apiVersion: NFD_API_VERSION,
    kind: 'NodeFeatureDiscovery',
    name: cr.metadata.name!,
    uid: cr.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** `topologyupdater` (the seed's spelling) or `topologyUpdater` (newer releases'). */
export function topologyEnabled(cr: NodeFeatureDiscovery): boolean {
  return (cr.spec?.topologyupdater ?? cr.spec?.topologyUpdater) === true;
}

/**
 * The worker configuration file: `workerConfig.configData` as written, with the legacy rules
 * of `customConfig.configData` appended to `sources.custom` (comments kept).
 */
export function workerConfigText(cr: NodeFeatureDiscovery): string {
  const base = cr.spec?.workerConfig?.configData ?? '';
  const customText = cr.spec?.customConfig?.configData ?? '';
  const doc = parseDocument(base);
  if (doc.errors.length) {
    throw new RenderError(
      'spec.workerConfig.configData',
      `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}; fix the nfd-worker.conf text`,
    );
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new RenderError(
      'spec.workerConfig.configData',
      'must be a YAML mapping (core:, sources:), as nfd-worker.conf is',
    );
  }
  if (!customText.trim()) return base;
  let custom: unknown;
  try {
    custom = parseYaml(customText);
  } catch (e) {
    throw new RenderError(
      'spec.customConfig.configData',
      `not valid YAML: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  if (custom === null || custom === undefined) return base;
  if (!Array.isArray(custom)) {
    throw new RenderError(
      'spec.customConfig.configData',
      'must be a YAML list of rules (- name: …, matchOn: …), as sources.custom is',
    );
  }
  const existing = doc.getIn(['sources', 'custom']);
  if (existing !== undefined && existing !== null && !isSeq(existing)) {
    throw new RenderError(
      'spec.workerConfig.configData',
      'sources.custom must be a list to add customConfig rules to it',
    );
  }
  for (const rule of custom) {
    if (isSeq(existing)) existing.add(doc.createNode(rule));
  }
  if (!isSeq(existing)) doc.setIn(['sources', 'custom'], doc.createNode(custom));
  return doc.toString();
}

function image(cr: NodeFeatureDiscovery, fallback: string | undefined, env: string): string {
  const img = cr.spec?.operand?.image || fallback;
  if (!img) {
    throw new RenderError(
      'spec.operand.image',
      `is empty and the operator has no ${env} setting; set one of them to the hwe image`,
    );
  }
  return img;
}

function validate(cr: NodeFeatureDiscovery): void {
  const s = cr.spec ?? {};
  const instance = s.instance ?? '';
  if (instance && (!INSTANCE_RE.test(instance) || instance.length > MAX_INSTANCE)) {
    throw new RenderError(
      'spec.instance',
      `"${instance}" names the operands: use at most ${MAX_INSTANCE} lower-case letters, digits and "-", starting and ending with a letter or digit`,
    );
  }
  if (s.labelWhiteList) {
    try {
      RE2JS.compile(s.labelWhiteList);
    } catch (e) {
      throw new RenderError(
        'spec.labelWhiteList',
        `invalid regular expression: ${boundedMessage((e as Error).message)}`,
      );
    }
  }
  (s.extraLabelNs ?? []).forEach((ns, i) => {
    if (!LABEL_NS_RE.test(ns)) {
      throw new RenderError(
        `spec.extraLabelNs[${i}]`,
        `${quoteValue(ns)} is not a label namespace; write a DNS subdomain such as vendor.example.com`,
      );
    }
  });
}

function labels(name: string): Record<string, string> {
  return { [APP_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY };
}

/** `app` is the component's namespaced name, also on its cluster-scoped objects. */
function meta(
  name: string,
  namespace: string | undefined,
  owner: OwnerReference | string,
  app = name,
) {
  return {
    name,
    ...(namespace ? { namespace } : {}),
    labels: labels(app),
    ...(typeof owner === 'string'
      ? { annotations: { [OWNER_ANNOTATION]: owner } }
      : { ownerReferences: [owner] }),
  };
}

const fieldEnv = (name: string, fieldPath: string) => ({
  name,
  valueFrom: { fieldRef: { fieldPath } },
});
const POD_ENV = [
  fieldEnv('NODE_NAME', 'spec.nodeName'),
  fieldEnv('POD_NAME', 'metadata.name'),
  fieldEnv('POD_UID', 'metadata.uid'),
  fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
];

/** Read-only host directories, mounted where upstream's images expect them. */
function hostMount(name: string, hostPath: string, mountPath: string, type?: string) {
  return {
    volume: { name, hostPath: { path: hostPath, ...(type ? { type } : {}) } },
    mount: { name, mountPath, readOnly: true },
  };
}

const RESTRICTED = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

/** Control-plane nodes are tainted; the operands run there too, as upstream's do. */
const CONTROL_PLANE_TOLERATIONS: Toleration[] = [
  { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
];

function probes(path: string) {
  return { httpGet: { path, port: PROBE_PORT, scheme: 'HTTP' } };
}

function container(
  c: Component,
  img: string,
  pullPolicy: string,
  args: string[],
  mounts: unknown[],
  extra: Record<string, unknown> = {},
) {
  return {
    name: c,
    image: img,
    imagePullPolicy: pullPolicy,
    command: [c],
    args,
    env: POD_ENV,
    ...(mounts.length ? { volumeMounts: mounts } : {}),
    securityContext: RESTRICTED,
    ...extra,
  };
}

/**
 * Pod Security: nfd-master and nfd-gc meet the `restricted` profile (non-root, no privilege
 * escalation, no capabilities, RuntimeDefault seccomp, read-only root). nfd-worker needs only
 * read-only hostPath volumes, which every level below `privileged` refuses, so its namespace
 * is `privileged`; it still runs as non-root with nothing else. nfd-topology-updater runs as
 * root (runAsNonRoot false) for the kubelet's pod-resources socket, also a hostPath.
 */
function podSpec(
  sa: string,
  containers: unknown[],
  o: {
    volumes?: unknown[];
    tolerations?: Toleration[];
    nodeSelector?: Record<string, string>;
    root?: boolean;
  },
) {
  const tolerations = [...CONTROL_PLANE_TOLERATIONS, ...(o.tolerations ?? [])];
  return {
    serviceAccountName: sa,
    securityContext: {
      ...(o.root ? {} : { runAsNonRoot: true }),
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers,
    tolerations,
    ...(o.nodeSelector && Object.keys(o.nodeSelector).length
      ? { nodeSelector: o.nodeSelector }
      : {}),
    ...(o.volumes?.length ? { volumes: o.volumes } : {}),
  };
}

function workload(
  kind: 'DaemonSet' | 'Deployment',
  name: string,
  ns: string,
  owner: OwnerReference,
  pod: unknown,
  replicas?: number,
): Operand {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: meta(name, ns, owner),
    spec: {
      ...(replicas !== undefined ? { replicas } : {}),
      selector: { matchLabels: { [APP_LABEL]: name } },
      template: { metadata: { labels: labels(name) }, spec: pod },
    },
  };
}

function serviceAccount(name: string, ns: string, owner: OwnerReference): Operand {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name, ns, owner) };
}

function metricsService(name: string, ns: string, owner: OwnerReference, port: number): Operand {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name, ns, owner),
    spec: {
      selector: { [APP_LABEL]: name },
      ports: [{ name: 'metrics', port, targetPort: 'metrics', protocol: 'TCP' }],
    },
  };
}

/** The ServiceAccount of a component and its (Cluster)Roles and bindings. */
function identity(
  c: Component,
  names: OperandNames,
  ns: string,
  owner: OwnerReference,
  ownerKey: string,
  rbac: OperandRbac,
): Operand[] {
  const sa = names.of(c);
  const subjects = [{ kind: 'ServiceAccount', name: sa, namespace: ns }];
  const out: Operand[] = [serviceAccount(sa, ns, owner)];
  const { cluster, namespaced } = rbac[c];
  if (cluster?.length) {
    const name = names.cluster(c);
    out.push(
      {
        apiVersion: RBAC,
        kind: 'ClusterRole',
        metadata: meta(name, undefined, ownerKey, sa),
        rules: cluster,
      },
      {
        apiVersion: RBAC,
        kind: 'ClusterRoleBinding',
        metadata: meta(name, undefined, ownerKey, sa),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects,
      },
    );
  }
  if (namespaced?.length) {
    out.push(
      { apiVersion: RBAC, kind: 'Role', metadata: meta(sa, ns, owner), rules: namespaced },
      {
        apiVersion: RBAC,
        kind: 'RoleBinding',
        metadata: meta(sa, ns, owner),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
        subjects,
      },
    );
  }
  return out;
}

function masterArgs(cr: NodeFeatureDiscovery, replicas: number): string[] {
  const s = cr.spec ?? {};
  const args = [`-port=${PROBE_PORT}`];
  if (s.instance) args.push(`-instance=${s.instance}`);
  if (s.extraLabelNs?.length) args.push(`-extra-label-ns=${s.extraLabelNs.join(',')}`);
  if (s.labelWhiteList) args.push(`-label-whitelist=${s.labelWhiteList}`);
  if (s.enableTaints) args.push('-enable-taints');
  if (replicas > 1) args.push('-enable-leader-election');
  return args;
}

/**
 * The operands of one NodeFeatureDiscovery. Throws RenderError naming the field at fault.
 * Namespaced objects are controlled by the CR (garbage-collected with it); cluster-scoped ones
 * carry the OWNER_ANNOTATION instead and are deleted by the finalizer.
 */
export function renderOperands(cr: NodeFeatureDiscovery, settings: OperatorSettings): Rendered {
  validate(cr);
  const s = cr.spec ?? {};
  const op = s.operand ?? {};
  const ns = cr.metadata.namespace!;
  const names = operandNames(cr);
  const owner = ownerOf(cr);
  const ownerKey = `${ns}/${cr.metadata.name}`;
  const img = image(cr, settings.image, ENV.operandImage);
  const pull = op.imagePullPolicy ?? 'Always';
  const warnings: string[] = [];
  if (s.resourceLabels?.length) {
    warnings.push(
      'spec.resourceLabels: nfd-master no longer has -resource-labels; publish extended resources with extendedResources in a NodeFeatureRule',
    );
  }
  const id = (c: Component) => identity(c, names, ns, owner, ownerKey, settings.rbac);

  const configMap: Operand = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(names.configMap, ns, owner),
    data: { [WORKER_CONFIG_KEY]: workerConfigText(cr) },
  };

  // nfd-worker: the host read-only under /host-*, the config as a whole directory (a subPath
  // mount would never see ConfigMap updates), local feature and rule files from the host.
  const w = [
    hostMount('host-boot', '/boot', '/host-boot'),
    hostMount('host-os-release', '/etc/os-release', '/host-etc/os-release', 'File'),
    hostMount('host-sys', '/sys', '/host-sys'),
    hostMount('host-proc', '/proc', '/host-proc'),
    hostMount('host-lib', '/lib', '/host-lib'),
    hostMount('host-usr-lib', '/usr/lib', '/host-usr/lib'),
    hostMount('features-d', `${WORKER_CONFIG_DIR}/features.d`, `${WORKER_CONFIG_DIR}/features.d`),
    hostMount('custom-d', `${WORKER_CONFIG_DIR}/custom.d`, `${WORKER_CONFIG_DIR}/custom.d`),
  ];
  const workerConf = {
    volume: {
      name: 'nfd-worker-conf',
      configMap: {
        name: names.configMap,
        items: [{ key: WORKER_CONFIG_KEY, path: WORKER_CONFIG_KEY }],
      },
    },
    mount: { name: 'nfd-worker-conf', mountPath: WORKER_CONFIG_DIR, readOnly: true },
  };
  const workerMounts = [workerConf, ...w];
  const worker = workload(
    'DaemonSet',
    names.of('nfd-worker'),
    ns,
    owner,
    podSpec(
      names.of('nfd-worker'),
      [
        container(
          'nfd-worker',
          img,
          pull,
          [`-config=${WORKER_CONFIG_DIR}/${WORKER_CONFIG_KEY}`],
          workerMounts.map((m) => m.mount),
        ),
      ],
      {
        volumes: workerMounts.map((m) => m.volume),
        tolerations: op.workerTolerations,
        nodeSelector: op.workerNodeSelector,
      },
    ),
  );

  const replicas = op.masterReplicas ?? 1;
  const servicePort = op.servicePort ?? DEFAULT_SERVICE_PORT;
  const served = {
    ports: [{ name: 'metrics', containerPort: PROBE_PORT, protocol: 'TCP' }],
    livenessProbe: probes('/healthz'),
    readinessProbe: probes('/readyz'),
  };
  const master = workload(
    'Deployment',
    names.of('nfd-master'),
    ns,
    owner,
    podSpec(
      names.of('nfd-master'),
      [container('nfd-master', img, pull, masterArgs(cr, replicas), [], served)],
      { tolerations: op.masterTolerations, nodeSelector: op.masterNodeSelector },
    ),
    replicas,
  );
  const gc = workload(
    'Deployment',
    names.of('nfd-gc'),
    ns,
    owner,
    podSpec(
      names.of('nfd-gc'),
      [container('nfd-gc', img, pull, [`-port=${PROBE_PORT}`], [], served)],
      { tolerations: op.masterTolerations, nodeSelector: op.masterNodeSelector },
    ),
    1,
  );

  const objects: Operand[] = [
    ...id('nfd-master'),
    ...id('nfd-worker'),
    ...id('nfd-gc'),
    configMap,
    metricsService(names.of('nfd-master'), ns, owner, servicePort),
    metricsService(names.of('nfd-gc'), ns, owner, PROBE_PORT),
    master,
    worker,
    gc,
  ];

  if (topologyEnabled(cr)) {
    const topoImage = op.image || settings.topologyUpdaterImage || img;
    objects.push(
      ...id('nfd-topology-updater'),
      topologyUpdater(cr, names, ns, owner, topoImage, pull),
    );
  }
  return { objects, warnings };
}

const KUBELET = '/var/lib/kubelet';

/** nfd-topology-updater with upstream's flags and host paths. */
function topologyUpdater(
  cr: NodeFeatureDiscovery,
  names: OperandNames,
  ns: string,
  owner: OwnerReference,
  img: string,
  pull: string,
): Operand {
  const m = [
    hostMount('host-sys', '/sys', '/host-sys'),
    // The kubelet's directory whole: its config file, its state files (watched, so allocations
    // show at once) and the pod-resources socket. A mount of the socket file itself would go
    // stale when the kubelet restarts and creates a new socket; through the directory the new
    // one is seen.
    hostMount('kubelet-dir', KUBELET, '/host-var/lib/kubelet', 'Directory'),
  ];
  const name = names.of('nfd-topology-updater');
  const c = container(
    'nfd-topology-updater',
    img,
    pull,
    [
      '-kubelet-config-file=/host-var/lib/kubelet/config.yaml',
      '-podresources-socket=/host-var/lib/kubelet/pod-resources/kubelet.sock',
      '-sleep-interval=60s',
      '-watch-namespace=*',
    ],
    m.map((x) => x.mount),
    // The kubelet's socket is root's.
    { securityContext: { ...RESTRICTED, runAsUser: 0 } },
  );
  return workload(
    'DaemonSet',
    name,
    ns,
    owner,
    podSpec(name, [c], {
      volumes: m.map((x) => x.volume),
      tolerations: cr.spec?.operand?.workerTolerations,
      nodeSelector: cr.spec?.operand?.workerNodeSelector,
      root: true,
    }),
  );
}
