/**
 * Plays the kubelet and kmm-worker for KMM worker pods on simulated (kwok) nodes. kwok only
 * makes pods Running; this completes them — Succeeded, or Failed with a termination message as
 * our worker writes one — through the pod status subresource.
 *
 * What decides a pod's end is a callback: tests choose outcomes themselves, and
 * `dryRunWorkerPod` runs the worker pod's real steps in a dry run (the module image pulled
 * from its registry and unpacked as the init container does, then `kmm worker kmod load` or
 * `unload` with the pod's config and flags, against a per-node host directory, with
 * `modprobe -n -S <node kernel>`), so a pod succeeds only if its image holds the module for
 * the node's kernel.
 */
import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Writable } from 'node:stream';
import {
  Informer,
  Pods,
  ResourceClient,
  isKubeError,
  silentLogger,
  type KubeClient,
  type ResourceType,
} from '../runtime/index.js';
import {
  DEFAULT_DIR_NAME,
  DEFAULT_FIRMWARE_HOST_PATH,
  loadKmod,
  parseWorkerConfig,
  spawnModprobe,
  unloadKmod,
  WorkerError,
} from '../kmm/worker/index.js';
import {
  cleanImagePath,
  extractFiles,
  openImage,
  resolveImage,
  type ImageAccess,
  type SecretLike,
} from '../oci/index.js';
import { WORKER_CONFIG_ANNOTATION, WORKER_LABELS, type WorkerPod } from '../kmm/common/index.js';

export type Outcome = 'succeed' | 'hold' | { fail: string };

export interface WorkerDriver {
  /** Pods completed so far, by outcome. */
  readonly done: { succeeded: number; failed: number };
  /** Every worker pod seen: `${action} ${node}/${module}` in order. */
  readonly seen: string[];
  stop(): Promise<void>;
}

export interface WorkerDriverOptions {
  /** Only pods of this namespace (default: all). */
  namespace?: string;
  /** Pods being decided at once [16]. */
  concurrency?: number;
  /** Told of every completed pod. */
  onDone?: (pod: WorkerPod, outcome: Exclude<Outcome, 'hold'>) => void;
}

const WorkerPods = Pods as ResourceType<WorkerPod>;

/** `${action} ${node}/${module}` of a worker pod, for logs. */
export function describeWorkerPod(pod: WorkerPod): string {
  const l = pod.metadata.labels ?? {};
  return `${l[WORKER_LABELS.action]} ${pod.spec.nodeName}/${l[WORKER_LABELS.moduleName]}`;
}

/**
 * Watches worker pods (label `${WORKER_LABELS.role}=worker`) and completes each Running one as
 * `decide` says; `hold` leaves it Running and asks again a little later.
 */
export async function startWorkerDriver(
  client: KubeClient,
  decide: (pod: WorkerPod) => Outcome | Promise<Outcome>,
  opts: WorkerDriverOptions = {},
): Promise<WorkerDriver> {
  const api = new ResourceClient<WorkerPod>(client, WorkerPods, 'kwok-worker-driver');
  const inf = new Informer<WorkerPod>(api, {
    labelSelector: `${WORKER_LABELS.role}=worker`,
    namespace: opts.namespace,
    log: silentLogger,
  });
  const done = { succeeded: 0, failed: 0 };
  const seen: string[] = [];
  const handled = new Set<string>();
  const queue: WorkerPod[] = [];
  let active = 0;
  const limit = opts.concurrency ?? 16;

  const pump = () => {
    while (active < limit && queue.length) {
      const pod = queue.shift()!;
      active++;
      void complete(pod).finally(() => {
        active--;
        pump();
      });
    }
  };

  async function complete(pod: WorkerPod): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await decide(pod);
    } catch (e) {
      outcome = { fail: (e as Error).message };
    }
    if (outcome === 'hold') {
      handled.delete(pod.metadata.uid!);
      return;
    }
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const fail = typeof outcome === 'object' ? outcome.fail : undefined;
    const failed = fail !== undefined;
    const terminated = failed
      ? { exitCode: 1, reason: 'Error', message: fail, startedAt: now, finishedAt: now }
      : { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now };
    try {
      await api.patchStatus(
        pod.metadata.name!,
        {
          status: {
            phase: failed ? 'Failed' : 'Succeeded',
            containerStatuses: [
              {
                name: 'worker',
                ready: false,
                restartCount: 0,
                image: 'hwe',
                imageID: '',
                state: { terminated },
              },
            ],
          },
        },
        { namespace: pod.metadata.namespace },
      );
      if (failed) done.failed++;
      else done.succeeded++;
      opts.onDone?.(pod, outcome);
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) handled.delete(pod.metadata.uid!);
    }
  }

  const consider = (pod: WorkerPod) => {
    const podIP = (pod.status as { podIP?: string } | undefined)?.podIP;
    // After kwok has made it Running (it would overwrite an earlier status).
    if (pod.metadata.deletionTimestamp || !podIP || pod.status?.phase !== 'Running') return;
    if (handled.has(pod.metadata.uid!)) return;
    handled.add(pod.metadata.uid!);
    seen.push(describeWorkerPod(pod));
    queue.push(pod);
    pump();
  };
  inf.addEventHandler({ onAdd: consider, onUpdate: (_o, n) => consider(n) });
  inf.start();
  await inf.waitForSync();
  // Pods held earlier are looked at again now and then.
  const timer = setInterval(() => {
    for (const p of inf.list()) consider(p);
  }, 250);
  return {
    done,
    seen,
    async stop() {
      clearInterval(timer);
      await inf.stop();
    },
  };
}

export interface DryRunResult {
  outcome: Exclude<Outcome, 'hold'>;
  /** What the worker printed: its log lines and modprobe's `insmod …` lines. */
  output: string;
}

/** The value of `--flag VALUE` in the worker container's arguments. */
function argValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The image's files under `paths`, written below `into` as the init container copies them. */
async function unpackImage(
  image: string,
  access: ImageAccess,
  paths: string[],
  into: string,
): Promise<number> {
  const { ref, client } = openImage(image, access);
  try {
    const resolved = await resolveImage(client, ref, {
      platform: { os: 'linux', architecture: 'amd64' },
    });
    const roots = paths.map(cleanImagePath);
    const files = await extractFiles(client, resolved, (p) =>
      roots.some((r) => r === '' || p === r || p.startsWith(`${r}/`)),
    );
    let count = 0;
    for (const [path, e] of files) {
      const target = join(into, path);
      if (e.type === 'directory') {
        await mkdir(target, { recursive: true });
        continue;
      }
      await mkdir(posix.dirname(target), { recursive: true });
      if (e.type === 'symlink' && e.linkname !== undefined) {
        await symlink(e.linkname, target);
      } else if (e.data) {
        await writeFile(target, e.data);
        await chmod(target, e.mode & 0o777);
        count++;
      }
    }
    return count;
  } finally {
    client.close();
  }
}

/**
 * Runs a worker pod's steps in a dry run: pulls and unpacks its module image into a fresh
 * directory under `workDir`, then loads or unloads with `hwe kmm worker`'s code and the pod's
 * config and flags, against `workDir/nodes/<node>` as the host root and with
 * `modprobe -n -S <the node's kernel>` (which resolves the module and its dependencies in
 * the image for that kernel, and prints the insmod lines, without loading anything).
 */
export async function dryRunWorkerPod(
  pod: WorkerPod,
  opts: {
    workDir: string;
    /** The kernel the node runs (what `uname -r` says there) [the config's kernelVersion]. */
    kernel?: string;
    /** The pod's imagePullSecrets, as the kubelet uses them to pull the module image. */
    pullSecrets?: SecretLike[];
    modprobe?: string;
  },
): Promise<DryRunResult> {
  const lines: string[] = [];
  const log = (m: string) => lines.push(`kmm-worker: ${m}`);
  const action = pod.metadata.labels?.[WORKER_LABELS.action] === 'unload' ? 'unload' : 'load';
  const text = pod.metadata.annotations?.[WORKER_CONFIG_ANNOTATION];
  if (!text) {
    return {
      outcome: { fail: `the pod has no ${WORKER_CONFIG_ANNOTATION} annotation` },
      output: '',
    };
  }
  const worker = (pod.spec.containers as { name: string; args?: string[] }[] | undefined)?.find(
    (c) => c.name === 'worker',
  );
  const args = worker?.args ?? [];
  const podDir = join(opts.workDir, 'pods', pod.metadata.uid ?? pod.metadata.name!);
  const imageDir = join(podDir, 'image');
  const root = join(opts.workDir, 'nodes', pod.spec.nodeName);
  // The output with the paths the pod would show (its --image-dir instead of ours).
  const inPod = (text: string) =>
    text.replaceAll(imageDir, argValue(args, '--image-dir') ?? '/tmp');
  const asInPod = () => inPod(lines.join('\n'));
  try {
    const cfg = parseWorkerConfig(text);
    const raw = JSON.parse(text) as {
      kernelVersion: string;
      containerImage: string;
      insecurePull?: boolean;
    };
    // The node's host side: what the worker reads and writes there.
    await mkdir(join(root, 'proc'), { recursive: true });
    await writeFile(join(root, 'proc', 'modules'), '', { flag: 'a' });
    const fcp = join(root, 'sys', 'module', 'firmware_class', 'parameters');
    await mkdir(fcp, { recursive: true });
    await writeFile(join(fcp, 'path'), '\n', { flag: 'a' });

    const paths = [cfg.modprobe.dirName || DEFAULT_DIR_NAME];
    if (cfg.modprobe.firmwarePath) paths.push(cfg.modprobe.firmwarePath);
    await mkdir(imageDir, { recursive: true });
    try {
      const access: ImageAccess = {
        ...(raw.insecurePull ? { tls: { insecure: true } } : {}),
        ...(opts.pullSecrets ? { pullSecrets: opts.pullSecrets } : {}),
      };
      const n = await unpackImage(raw.containerImage, access, paths, imageDir);
      log(`unpacked ${n} files of ${paths.join(', ')} from ${raw.containerImage}`);
    } catch (e) {
      return {
        outcome: { fail: `unpacking the module image failed: ${(e as Error).message}` },
        output: asInPod(),
      };
    }
    // modprobe with -n (nothing is inserted) and -S (the node's kernel, not this machine's).
    const wrapper = join(podDir, 'modprobe');
    const modprobe = opts.modprobe ?? '/usr/sbin/modprobe';
    const kernel = (opts.kernel ?? raw.kernelVersion).replace(/'/g, '');
    await writeFile(wrapper, `#!/bin/sh\nexec '${modprobe}' -n -S '${kernel}' "$@"\n`);
    await chmod(wrapper, 0o755);
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().trimEnd().split('\n'));
        done();
      },
    });
    const firmwareFlag = argValue(args, '--firmware-path');
    const env = {
      root,
      imageDir,
      firmwareHostPath: firmwareFlag ?? DEFAULT_FIRMWARE_HOST_PATH,
      setFirmwareClassPath: action === 'load' && firmwareFlag !== undefined,
      modprobe: spawnModprobe(wrapper, { stdout: out, stderr: out }),
      modprobeConfigDirs: [],
      log,
    };
    await (action === 'load' ? loadKmod(cfg, env) : unloadKmod(cfg, env));
    return { outcome: 'succeed', output: asInPod() };
  } catch (e) {
    if (!(e instanceof WorkerError)) throw e;
    return { outcome: { fail: inPod(e.message) }, output: asInPod() };
  } finally {
    await rm(podDir, { recursive: true, force: true });
  }
}
