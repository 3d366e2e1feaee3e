/**
 * Plays the kubelet and kmm-worker for worker pods on kwok nodes: kwok only makes pods
 * Running, so this completes them — Succeeded, or Failed with a termination message as our
 * worker writes one — through the pod status subresource.
 */
import {
  Informer,
  Pods,
  ResourceClient,
  isKubeError,
  silentLogger,
  type KubeClient,
  type ResourceType,
} from '../../../src/runtime/index.js';
import { WORKER_LABELS } from '../../../src/kmm/module/labels.js';
import type { WorkerPod } from '../../../src/kmm/nmc/pod.js';

export type Outcome = 'succeed' | 'hold' | { fail: string };

export interface WorkerDriver {
  /** Pods completed so far, by outcome. */
  readonly done: { succeeded: number; failed: number };
  /** Every worker pod seen: `${action} ${node}/${module}` in order. */
  readonly seen: string[];
  stop(): Promise<void>;
}

const WorkerPods = Pods as ResourceType<WorkerPod>;

export async function startWorkerDriver(
  client: KubeClient,
  decide: (pod: WorkerPod) => Outcome,
  opts: { namespace?: string; concurrency?: number } = {},
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
    const outcome = decide(pod);
    if (outcome === 'hold') {
      handled.delete(pod.metadata.uid!);
      return;
    }
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const failed = typeof outcome === 'object';
    const terminated = failed
      ? { exitCode: 1, reason: 'Error', message: outcome.fail, startedAt: now, finishedAt: now }
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
    const l = pod.metadata.labels ?? {};
    seen.push(`${l[WORKER_LABELS.action]} ${pod.spec.nodeName}/${l[WORKER_LABELS.moduleName]}`);
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
