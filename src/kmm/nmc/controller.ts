import { Modules, NodeModulesConfigs, type NodeModulesConfig } from '../../api/index.js';
import {
  EventRecorder,
  Expectations,
  Nodes,
  indexers,
  isKubeError,
  settleEach,
  throwAll,
  type KubeObject,
  type Logger,
  type Manager,
  type OwnerReference,
  type Result,
} from '../../runtime/index.js';
import {
  EVENTS,
  isNodeReady,
  kmmInformers,
  KmmNodes,
  nodeHeartbeatFilter,
  moduleKey,
  nodeKernel,
  trimNode,
  WORKER_LABELS,
  WORKER_SELECTOR,
  WorkerPods,
  type KmmNode,
  type NodeView,
  type WorkerPod,
} from '../common/index.js';
import {
  errorAnnotationsPatch,
  loadedCount,
  nmcModuleKeys,
  nodeLabels,
  nodeLabelsPatch,
  planNode,
  type NmcEvent,
  type NmcPlan,
  type WorkerPodView,
} from './plan.js';
import { WorkerRetries } from './retries.js';
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

function nodeView(node: KmmNode): NodeView {
  return {
    bootID: node.status?.nodeInfo?.bootID,
    ready: isNodeReady(node),
    kernelVersion: nodeKernel(node),
  };
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
  const retries = new WorkerRetries(opts.retryBaseMs ?? 10_000, MAX_RETRY_MS);
  /** Per `node|module key`: a worker pod we created that the cache has not shown yet. */
  const launched = new Expectations({ ttlMs: LAUNCH_GRACE_MS });
  /**
   * Worker pods we deleted, by UID. Their outcome is already in the NMC status; until the cache
   * drops them, they must not be read again (that would record and delete them twice).
   */
  const deletedPods = new Expectations({ ttlMs: LAUNCH_GRACE_MS });
  /** Per node: the label patch we sent, computed from the node's cached resourceVersion. */
  const labelWrites = new Expectations<string>();

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
      if (!node) return removeNode(name, nmc, pods);
      if (!nmc) return syncLabels(node, {});
      const view = nodeView(node);
      const now = Date.now();
      const views = pods
        .filter((p) => deletedPods.pending(p.metadata.uid!) === undefined)
        .map(podView)
        .filter((v): v is WorkerPodView => !!v);
      // A pod we created that the cache has not shown yet is in flight: do not create it again.
      for (const v of views) launched.observed(`${name}|${v.namespace}/${v.module}`);
      const blocked = retries.waiting(name, now).keys;
      // A pod we created and have not seen yet: wait for it, but look again when the wait
      // lapses. If the pod vanished before the cache showed it (deleted or evicted at once),
      // no event will come for it, and the module would wait for ever.
      let launchWaitMs: number | undefined;
      for (const k of nmcModuleKeys(nmc)) {
        const key = `${name}|${k}`;
        if (!launched.pending(key)) continue;
        blocked.add(k);
        launchWaitMs = Math.min(launchWaitMs ?? Infinity, launched.lapsesInMs(key)! + 100);
      }
      const plan = planNode(
        nmc,
        view,
        views,
        blocked,
        new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      );

      log.debug('plan', {
        nmc: nmc.metadata.resourceVersion,
        pods: views.map((v) => `${v.namespace}/${v.module} ${v.action} ${v.phase}`),
        blocked: [...blocked],
        create: plan.createPods.map((c) => `${moduleKey(c.entry)} ${c.action}`),
        deletePods: plan.deletePods.length,
        status: plan.status?.map((e) => moduleKey(e)),
      });
      const errors: unknown[] = [];
      let current = await writeStatus(nmc, plan, view);
      for (const p of plan.deletePods) {
        try {
          await podApi.deleteIfExists(p.name, { namespace: p.namespace, gracePeriodSeconds: 0 });
        } catch (e) {
          errors.push(e);
          continue;
        }
        const uid = pods.find((x) => x.metadata.name === p.name)?.metadata.uid;
        if (uid) deletedPods.expect(uid, true);
      }
      for (const key of plan.failed) retries.failed(name, key, now);
      for (const [key, msg] of plan.errors) if (msg === null) retries.succeeded(name, key);
      errors.push(...(await createPods(nmc, plan, now)));

      // Record failures on the NMC (the Module controller turns them into conditions).
      const known = nmcModuleKeys(nmc, plan.status ?? nmc.status?.modules);
      const annPatch = errorAnnotationsPatch(
        current.metadata.annotations ?? {},
        plan.errors,
        known,
      );
      if (Object.keys(annPatch).length) {
        current = await nmcApi.patch(name, { metadata: { annotations: annPatch } });
      }
      await syncLabels(node, nodeLabels(current, view, node.metadata.labels));
      emitEvents(node, plan.events);
      // Nothing wanted, nothing loaded, nothing running: the NMC has served its purpose.
      if (!views.length && !plan.createPods.length) await deleteIfEmpty(current, log);
      throwAll(errors);
      const retryMs = retries.waiting(name, now).nextMs;
      const next = Math.min(retryMs ?? Infinity, launchWaitMs ?? Infinity);
      if (next !== Infinity) return { requeueAfter: next };
    });

  /** The node is gone: its NMC (and through ownership its worker pods) goes too. */
  async function removeNode(
    name: string,
    nmc: NodeModulesConfig | undefined,
    pods: readonly WorkerPod[],
  ): Promise<void> {
    retries.forgetNode(name);
    labelWrites.observed(name);
    if (nmc) await nmcApi.deleteIfExists(name);
    const errors = await settleEach(pods, 4, (p) =>
      podApi.deleteIfExists(p.metadata.name!, {
        namespace: p.metadata.namespace,
        gracePeriodSeconds: 0,
      }),
    );
    throwAll(errors);
  }

  /** Writes the plan's status (guarded by the resourceVersion read); returns the NMC after it. */
  async function writeStatus(
    nmc: NodeModulesConfig,
    plan: NmcPlan,
    view: NodeView,
  ): Promise<NodeModulesConfig> {
    if (!plan.status) return nmc;
    const next = { ...nmc, status: { ...nmc.status, modules: plan.status } };
    return nmcApi.patchStatus(nmc.metadata.name!, {
      metadata: { resourceVersion: nmc.metadata.resourceVersion },
      status: {
        modules: plan.status,
        desiredNumber: nmc.spec.modules?.length ?? 0,
        loadedNumber: loadedCount(next, view),
      },
    });
  }

  /**
   * Creates the plan's worker pods. A pod admission refuses (Pod Security of the namespace, a
   * missing service account…) becomes the module's error and a Warning, and backs off; other
   * failures are returned, after the remaining pods had their turn.
   */
  async function createPods(nmc: NodeModulesConfig, plan: NmcPlan, now: number) {
    const node = nmc.metadata.name!;
    const errors: unknown[] = [];
    for (const c of plan.createPods) {
      const key = moduleKey(c.entry);
      const pod = workerPod(node, c.entry, c.config, c.action, nmcOwner(nmc), opts);
      try {
        await podApi.create(pod);
        launched.expect(`${node}|${key}`, true);
      } catch (e) {
        if (isKubeError(e, 'AlreadyExists')) continue; // the cache has not seen it yet
        if (!isKubeError(e, 'Forbidden') && !isKubeError(e, 'Invalid')) {
          errors.push(e);
          continue;
        }
        const msg = (e as Error).message;
        plan.errors.set(key, `${c.action} refused: ${msg}`);
        retries.failed(node, key, now);
        plan.events.push({
          type: 'Warning',
          reason: EVENTS.workerPodRejected,
          message: `Module ${key}: worker pod ${pod.metadata.name} could not be created: ${msg}`,
          namespace: c.entry.namespace,
          module: c.entry.name,
        });
      }
    }
    return errors;
  }

  /** Events on the Node, and Warnings also on their Module. */
  function emitEvents(node: KmmNode, events: readonly NmcEvent[]): void {
    const name = node.metadata.name!;
    for (const ev of events) {
      void opts.events.event(nodeRef(node), ev.type, ev.reason, ev.message);
      if (ev.type === 'Warning') {
        const m = moduleObject(ev.namespace, ev.module);
        if (m) void opts.events.event(m, ev.type, ev.reason, `node ${name}: ${ev.message}`);
      }
    }
  }

  /** Deletes an NMC that wants and holds no module, unless it changed since it was read. */
  async function deleteIfEmpty(nmc: NodeModulesConfig, log: Logger): Promise<void> {
    if ((nmc.spec.modules ?? []).length || (nmc.status?.modules ?? []).length) return;
    await nmcApi
      .delete(nmc.metadata.name!, {
        preconditions: { resourceVersion: nmc.metadata.resourceVersion },
      })
      .catch((e) => {
        if (!isKubeError(e, 'NotFound') && !isKubeError(e, 'Conflict')) throw e;
      });
    log.debug('deleted empty NodeModulesConfig');
  }

  async function syncLabels(node: KmmNode, want: Record<string, string>): Promise<void> {
    const patch = nodeLabelsPatch(node.metadata.labels ?? {}, want);
    const name = node.metadata.name!;
    if (!Object.keys(patch).length) {
      labelWrites.observed(name);
      return;
    }
    // The same patch on the same version of the node: ours, not yet seen by the cache.
    const text = JSON.stringify(patch);
    if (labelWrites.pending(name, node.metadata.resourceVersion) === text) return;
    await nodeApi.patch(name, { metadata: { labels: patch } });
    labelWrites.expect(name, text, node.metadata.resourceVersion);
  }
}
