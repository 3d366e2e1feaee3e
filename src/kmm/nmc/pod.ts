import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { ModuleConfig, NodeModuleSpec, Toleration } from '../../api/index.js';
import type { KubeObject, OwnerReference } from '../../runtime/index.js';
import { DEFAULT_DIR_NAME } from '../worker/index.js';
import { WORKER_CONFIG_ANNOTATION, WORKER_LABELS } from '../module/labels.js';

export type WorkerAction = 'load' | 'unload';

/** Settings of worker pods from the operator config (SPEC §3.9). */
export interface WorkerPodOptions {
  /** The image holding `hwe` (its `kmm worker` command). */
  workerImage: string;
  /** Host directory firmware is copied to. */
  firmwareHostPath: string;
  runAsUser: number;
  seLinuxType: string;
}

export interface WorkerPod extends KubeObject {
  spec: Record<string, unknown> & { nodeName: string };
  status?: {
    phase?: string;
    containerStatuses?: {
      name: string;
      state?: { terminated?: { exitCode?: number; message?: string; reason?: string } };
    }[];
    initContainerStatuses?: WorkerPodStatusContainer[];
    message?: string;
    reason?: string;
  };
}
type WorkerPodStatusContainer = NonNullable<
  NonNullable<WorkerPod['status']>['containerStatuses']
>[number];

/** Where the init container unpacks the module image; the worker's --image-dir. */
const IMAGE_DIR = '/tmp';
const CONFIG_DIR = '/etc/kmm-worker';
const CONFIG_FILE = 'config.yaml';

/** Ten hex digits of the SHA-256 of `s`: stable names for long or unusual inputs. */
export function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 10);
}

/** Label values are at most 63 characters; longer names are replaced by a stable hash. */
export function labelValue(s: string): string {
  return s.length <= 63 ? s : `h-${shortHash(s)}`;
}

/** `kmm-worker-<node>-<module>`, as upstream; hashed when it would exceed a name's length. */
export function workerPodName(node: string, module: string): string {
  const name = `kmm-worker-${node}-${module}`;
  return name.length <= 253 ? name : `kmm-worker-${shortHash(`${node}/${module}`)}`;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The init container's script: the module image must hold `cp` (KMM 2.4), and its files are
 * unpacked by copying `dirName` (and the firmware, when it lies elsewhere) into the shared
 * emptyDir, keeping their paths.
 */
export function unpackScript(cfg: ModuleConfig, into = IMAGE_DIR): string {
  const paths = [cfg.modprobe.dirName || DEFAULT_DIR_NAME];
  const fw = cfg.modprobe.firmwarePath;
  if (fw && !paths.some((p) => fw === p || fw.startsWith(`${p.replace(/\/$/, '')}/`))) {
    paths.push(fw);
  }
  const lines = ['set -e'];
  for (const p of paths) {
    const parent = posix.join(into, posix.dirname(posix.resolve('/', p)));
    lines.push(`mkdir -p ${quote(parent)}`, `cp -R ${quote(p)} ${quote(parent)}/`);
  }
  return lines.join('\n');
}

/**
 * The short-lived pod that loads or unloads one module on one node: pinned to the node, in
 * the Module's namespace with the entry's service account (so Pod Security admission of that
 * namespace decides whether it may run), owned by the node's NodeModulesConfig.
 */
export function workerPod(
  nodeName: string,
  entry: Pick<NodeModuleSpec, 'name' | 'namespace' | 'serviceAccountName' | 'imageRepoSecret'> & {
    tolerations?: Toleration[];
  },
  config: ModuleConfig,
  action: WorkerAction,
  owner: OwnerReference,
  opts: WorkerPodOptions,
): WorkerPod {
  const firmware = !!config.modprobe.firmwarePath;
  const args = [
    'kmm',
    'worker',
    'kmod',
    action,
    posix.join(CONFIG_DIR, CONFIG_FILE),
    '--image-dir',
    IMAGE_DIR,
  ];
  if (firmware) args.push('--firmware-path', opts.firmwareHostPath);
  const volumeMounts: Record<string, unknown>[] = [
    { name: 'image', mountPath: IMAGE_DIR },
    { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
    { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
  ];
  const volumes: Record<string, unknown>[] = [
    { name: 'image', emptyDir: {} },
    {
      name: 'config',
      downwardAPI: {
        items: [
          {
            path: CONFIG_FILE,
            fieldRef: { fieldPath: `metadata.annotations['${WORKER_CONFIG_ANNOTATION}']` },
          },
        ],
      },
    },
    { name: 'lib-modules', hostPath: { path: '/lib/modules', type: 'Directory' } },
  ];
  if (firmware) {
    volumeMounts.push({ name: 'firmware', mountPath: opts.firmwareHostPath });
    volumes.push({
      name: 'firmware',
      hostPath: { path: opts.firmwareHostPath, type: 'DirectoryOrCreate' },
    });
  }
  // Pod Security: a worker pod needs the `privileged` level of its namespace, and only for
  // this: hostPath /lib/modules (read-only: modprobe reads the node's modules.dep and in-tree
  // dependencies), CAP_SYS_MODULE (init_module/delete_module) as root (runAsUser, default 0,
  // which owns /lib/modules), and with firmware a hostPath it writes into and a privileged
  // container, because writing firmware_class.path under /sys needs one. No API token is
  // mounted (its service account has automountServiceAccountToken false in the manifests).
  const securityContext: Record<string, unknown> = firmware
    ? { privileged: true, runAsUser: opts.runAsUser, seLinuxOptions: { type: opts.seLinuxType } }
    : {
        capabilities: { add: ['SYS_MODULE'] },
        runAsUser: opts.runAsUser,
        seLinuxOptions: { type: opts.seLinuxType },
      };
  const spec: WorkerPod['spec'] = {
    nodeName,
    // Never: a failure ends the pod with the worker's message; the controller reports it and
    // retries with backoff, instead of the kubelet retrying silently.
    restartPolicy: 'Never',
    serviceAccountName: entry.serviceAccountName || 'default',
    tolerations: entry.tolerations ?? [],
    initContainers: [
      {
        name: 'image-extractor',
        image: config.containerImage,
        imagePullPolicy: config.imagePullPolicy ?? 'IfNotPresent',
        command: ['/bin/sh', '-c', unpackScript(config)],
        volumeMounts: [{ name: 'image', mountPath: IMAGE_DIR }],
      },
    ],
    containers: [
      {
        name: 'worker',
        image: opts.workerImage,
        command: ['hwe'],
        args,
        securityContext,
        terminationMessagePolicy: 'FallbackToLogsOnError',
        volumeMounts,
      },
    ],
    volumes,
  };
  if (entry.imageRepoSecret?.name) spec.imagePullSecrets = [{ name: entry.imageRepoSecret.name }];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: workerPodName(nodeName, entry.name),
      namespace: entry.namespace,
      labels: {
        [WORKER_LABELS.role]: 'worker',
        [WORKER_LABELS.node]: labelValue(nodeName),
        [WORKER_LABELS.moduleName]: labelValue(entry.name),
        [WORKER_LABELS.action]: action,
      },
      annotations: { [WORKER_CONFIG_ANNOTATION]: JSON.stringify(config) },
      ownerReferences: [owner],
    },
    spec,
  };
}

/** Why a worker pod failed, from the worker's termination message or the pod's reason. */
export function failureMessage(pod: WorkerPod): string {
  const st = pod.status;
  const all = [...(st?.initContainerStatuses ?? []), ...(st?.containerStatuses ?? [])];
  for (const c of all) {
    const t = c.state?.terminated;
    if (t && t.exitCode !== 0) {
      const msg = t.message?.trim() || t.reason || `exit code ${t.exitCode ?? '?'}`;
      return c.name === 'image-extractor' ? `unpacking the module image failed: ${msg}` : msg;
    }
  }
  return st?.message || st?.reason || 'the worker pod failed without a message';
}

/** The config a worker pod was given (its annotation), if readable. */
export function podConfig(pod: KubeObject): ModuleConfig | undefined {
  const raw = pod.metadata.annotations?.[WORKER_CONFIG_ANNOTATION];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as ModuleConfig;
  } catch {
    return undefined;
  }
}
