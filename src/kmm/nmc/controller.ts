import { Modules, NodeModulesConfigs, type NodeModulesConfig } from '../../api/index.js';
import {
  EventRecorder,
  indexers,
  isKubeError,
  Nodes,
  type KubeObject,
  type Manager,
  type OwnerReference,
  type Result,
} from '../../runtime/index.js';
import {
  isNodeReady,
  isOwnedNodeLabel,
  kmmInformers,
  KmmNodes,
  LAST_ERROR_PREFIX,
  lastErrorAnnotation,
  moduleKey,
  nodeHeartbeatFilter,
  nodeKernel,
  trimNode,
  WORKER_LABELS,
  WORKER_SELECTOR,
  WorkerPods,
  type KmmNode,
  type NodeView,
  type WorkerPod,
} from '../common/index.js';
import { loadedCount, nodeLabels, planNode, type WorkerPodView } from './plan.js';
import { failureMessage, podConfig, workerPod, type WorkerPodOptions } from './pod.js';

export interface NmcControllerOptions extends WorkerPodOptions {
  events: EventRecorder;
  /** First retry after a failed load/unload; doubles per failure up to five minutes. */
  retryBaseMs?: number;
  workers?: number;
}

const MAX_RETRY_MS = 5 * 60_000;
/** How long a created worker pod may take to show in the cache before we stop waiting for it. */
const LAUNCH_GRACE_MS = 30_000;

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function podView(p: WorkerPod): WorkerPodView | undefined {
  const module = p.metadata.labels?.[WORKER_LABELS.moduleName];
  const action = p.metadata.labels?.[WORKER_LABELS.action];
  if (!module || (action !== 'load' && action !== 'unload')) return undefined;
  const raw = p.status?.phase;
  const phase: WorkerPodView['phase'] = p.metadata.deletionTimestamp
    ? 'Terminating'
    : raw === 'Succeeded' || raw === 'Failed' || raw === 'Running'
      ? raw
      : 'Pending';
  const view: WorkerPodView = {
    name: p.metadata.name!,
    namespace: p.metadata.namespace!,
    module,
    action,
    phase,
    config: podConfig(p),
  };
  if (phase === 'Failed') view.message = failureMessage(p);
  return view;
}

function nodeRef(node: KmmNode): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { ...node.metadata, namespace: undefined } };
}

function nmcOwner(nmc: NodeModulesConfig): OwnerReference {
  return {
    apiVersion: `${NodeModulesConfigs.group}/${NodeModulesConfigs.version}`,
    kind: 'NodeModulesConfig',
    name: nmc.metadata.name!,
    uid: nmc.metadata.uid!,
    blockOwnerDeletion: false,
  };
}

/**
 * The node config controller: per node, runs worker pods until what its NodeModulesConfig
 * wants is what its kernel has, records the outcome in the NMC status, labels the node, and
 * reports on the Node (and, for failures, the Module).
 */
export function setupNmcController(mgr: Manager, opts: NmcControllerOptions): void {
  const inf = kmmInformers(mgr);
  const nmcApi = mgr.api(NodeModulesConfigs);
  const podApi = mgr.api(WorkerPods);
  const nodeApi = mgr.api(Nodes);
  const retryBase = opts.retryBaseMs ?? 10_000;
  /** Per node and module key: when we created a worker pod the cache has not shown yet. */
  const launched = new Map<string, number>();
  /** Per node and module key: failures in a row and when the next attempt may start. */
  const backoff = new Map<string, { failures: number; until: number }>();
  /**
   * Worker pods we deleted, by UID, and when. Their outcome is already in the NMC status; until
   * the cache drops them, they must not be read again (that would record and delete them twice).
   */
  const deletedPods = new Map<string, number>();

  const moduleObject = (namespace: string, name: string): KubeObject | undefined => {
    const m = inf.modules.getByName(name, namespace);
    return m
      ? { ...m, apiVersion: `${Modules.group}/${Modules.version}`, kind: 'Module' }
      : undefined;
  };

  mgr
    .controller('kmm-nmc')
    .for(NodeModulesConfigs)
    .watches(KmmNodes, (n) => [{ name: n.metadata.name! }], {
      predicates: [nodeHeartbeatFilter],
      informer: { transform: trimNode },
    })
    .watches(WorkerPods, (p) => (p.spec?.nodeName ? [{ name: p.spec.nodeName }] : []), {
      informer: { labelSelector: WORKER_SELECTOR, indexers: { byNodeName: indexers.byNodeName } },
    })
    .workers(opts.workers ?? 32)
    .complete(async (req, { log }): Promise<Result | void> => {
      const name = req.name;
      const node = inf.nodes.getByName(name);
      const nmc = inf.nmcs.getByName(name);
      const pods = inf.pods.byIndex('byNodeName', name);
      if (!node) {
        // The node is gone: its NMC (and through ownership its worker pods) goes too.
        if (nmc) await nmcApi.deleteIfExists(name);
        for (const p of pods) {
          await podApi.deleteIfExists(p.metadata.name!, {
            namespace: p.metadata.namespace,
            gracePeriodSeconds: 0,
          });
        }
        return;
      }
      const view: NodeView = {
        bootID: node.status?.nodeInfo?.bootID,
        ready: isNodeReady(node),
        kernelVersion: nodeKernel(node),
      };
      if (!nmc) {
        await syncLabels(node, {});
        return;
      }
      const now = Date.now();
      const blocked = new Set<string>();
      let nextRetry = Infinity;
      for (const [k, b] of backoff) {
        if (!k.startsWith(`${name}|`)) continue;
        if (b.until > now) {
          blocked.add(k.slice(name.length + 1));
          nextRetry = Math.min(nextRetry, b.until - now);
        }
      }
      for (const [uid, at] of deletedPods) if (now - at > LAUNCH_GRACE_MS) deletedPods.delete(uid);
      const views = pods
        .filter((p) => !deletedPods.has(p.metadata.uid!))
        .map(podView)
        .filter((v): v is WorkerPodView => !!v);
      // A pod we created that the cache has not shown yet is in flight: do not create it again.
      for (const v of views) launched.delete(`${name}|${v.namespace}/${v.module}`);
      for (const [k, at] of launched) {
        if (!k.startsWith(`${name}|`)) continue;
        if (now - at < LAUNCH_GRACE_MS) blocked.add(k.slice(name.length + 1));
        else launched.delete(k);
      }
      const plan = planNode(
        nmc,
        view,
        views,
        blocked,
        new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      );

      let current = nmc;
      if (plan.status) {
        const next = { ...nmc, status: { ...nmc.status, modules: plan.status } };
        current = await nmcApi.patchStatus(name, {
          metadata: { resourceVersion: nmc.metadata.resourceVersion },
          status: {
            modules: plan.status,
            desiredNumber: nmc.spec.modules?.length ?? 0,
            loadedNumber: loadedCount(next, view),
          },
        });
      }
      for (const p of plan.deletePods) {
        await podApi.deleteIfExists(p.name, { namespace: p.namespace, gracePeriodSeconds: 0 });
        const uid = pods.find((x) => x.metadata.name === p.name)?.metadata.uid;
        if (uid) deletedPods.set(uid, now);
      }
      for (const key of plan.failed) {
        const k = `${name}|${key}`;
        const failures = (backoff.get(k)?.failures ?? 0) + 1;
        const wait = Math.min(retryBase * 2 ** (failures - 1), MAX_RETRY_MS);
        backoff.set(k, { failures, until: now + wait });
        nextRetry = Math.min(nextRetry, wait);
      }
      for (const [key, msg] of plan.errors) if (msg === null) backoff.delete(`${name}|${key}`);

      for (const c of plan.createPods) {
        const key = moduleKey(c.entry);
        const pod = workerPod(name, c.entry, c.config, c.action, nmcOwner(nmc), opts);
        try {
          await podApi.create(pod);
          launched.set(`${name}|${key}`, now);
        } catch (e) {
          if (isKubeError(e, 'AlreadyExists')) continue; // the cache has not seen it yet
          if (!isKubeError(e, 'Forbidden') && !isKubeError(e, 'Invalid')) throw e;
          // Admission refused it (Pod Security of the namespace, a missing service account…):
          // say so where the user looks, and try again later.
          const msg = `${c.action} refused: ${(e as Error).message}`;
          plan.errors.set(key, msg);
          const k = `${name}|${key}`;
          const failures = (backoff.get(k)?.failures ?? 0) + 1;
          const wait = Math.min(retryBase * 2 ** (failures - 1), MAX_RETRY_MS);
          backoff.set(k, { failures, until: now + wait });
          nextRetry = Math.min(nextRetry, wait);
          plan.events.push({
            type: 'Warning',
            reason: 'WorkerPodRejected',
            message: `Module ${key}: worker pod ${pod.metadata.name} could not be created: ${(e as Error).message}`,
            namespace: c.entry.namespace,
            module: c.entry.name,
          });
        }
      }

      // Record failures on the NMC (the Module controller turns them into conditions).
      const annotations = current.metadata.annotations ?? {};
      const annPatch: Record<string, string | null> = {};
      for (const [key, msg] of plan.errors) {
        const ann = lastErrorAnnotation(...splitKey(key));
        if (msg === null ? ann in annotations : annotations[ann] !== msg) annPatch[ann] = msg;
      }
      // Errors of modules no longer on this node are stale.
      const known = new Set([
        ...(nmc.spec.modules ?? []).map(moduleKey),
        ...(plan.status ?? nmc.status?.modules ?? []).map(moduleKey),
      ]);
      for (const ann of Object.keys(annotations)) {
        if (!ann.startsWith(LAST_ERROR_PREFIX)) continue;
        const still = [...known].some((k) => {
          return lastErrorAnnotation(...splitKey(k)) === ann;
        });
        if (!still) annPatch[ann] = null;
      }
      if (Object.keys(annPatch).length) {
        current = await nmcApi.patch(name, { metadata: { annotations: annPatch } });
      }

      await syncLabels(node, nodeLabels(current, view));

      for (const ev of plan.events) {
        void opts.events.event(nodeRef(node), ev.type, ev.reason, ev.message);
        if (ev.type === 'Warning') {
          const m = moduleObject(ev.namespace, ev.module);
          if (m) void opts.events.event(m, ev.type, ev.reason, `node ${name}: ${ev.message}`);
        }
      }

      // Nothing wanted, nothing loaded, nothing running: the NMC has served its purpose.
      const empty =
        !(current.spec.modules ?? []).length &&
        !(current.status?.modules ?? []).length &&
        !views.length &&
        !plan.createPods.length;
      if (empty) {
        await nmcApi
          .delete(name, {
            preconditions: { resourceVersion: current.metadata.resourceVersion },
          })
          .catch((e) => {
            if (!isKubeError(e, 'NotFound') && !isKubeError(e, 'Conflict')) throw e;
          });
        log.debug('deleted empty NodeModulesConfig');
      }
      if (nextRetry !== Infinity) return { requeueAfter: nextRetry };
    });

  /** Per node: the resourceVersion it had when we last patched its labels, and the patch. */
  const labelWrites = new Map<string, { rv: string | undefined; patch: string }>();

  async function syncLabels(node: KmmNode, want: Record<string, string>): Promise<void> {
    const have = node.metadata.labels ?? {};
    const patch: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(want)) if (have[k] !== v) patch[k] = v;
    for (const k of Object.keys(have)) if (isOwnedNodeLabel(k) && !(k in want)) patch[k] = null;
    const name = node.metadata.name!;
    if (!Object.keys(patch).length) {
      labelWrites.delete(name);
      return;
    }
    // The same patch on the same version of the node: ours, not yet seen by the cache.
    const last = labelWrites.get(name);
    const text = JSON.stringify(patch);
    if (last && last.rv === node.metadata.resourceVersion && last.patch === text) return;
    await nodeApi.patch(name, { metadata: { labels: patch } });
    labelWrites.set(name, { rv: node.metadata.resourceVersion, patch: text });
  }
}
