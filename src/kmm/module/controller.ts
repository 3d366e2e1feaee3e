import {
  ModuleBuildSignConfigs,
  ModuleImagesConfigs,
  Modules,
  NodeModulesConfigs,
  type ImageState,
  type Module,
  type ModuleImagesConfig,
  type NodeModuleSpec,
  type NodeModulesConfig,
} from '../../api/index.js';
import {
  DaemonSets,
  Events,
  Expectations,
  addFinalizer,
  createOrPatch,
  deepEqual,
  isKubeError,
  overlay,
  ownerReference,
  removeFinalizer,
  settleEach,
  throwAll,
  type ConditionInput,
  type KubeObject,
  type Manager,
  type Request,
  type ResourceType,
  type Result,
} from '../../runtime/index.js';
import {
  devicePluginServiceAccount,
  planDevicePlugins,
  type DaemonSetObject,
} from '../deviceplugin/daemonset.js';
import {
  DEVICE_PLUGIN_LABEL,
  isNodeReady,
  kmmInformers,
  KmmNodes,
  labelValue,
  lastErrorAnnotation,
  matchesSelector,
  MODULE_FINALIZER,
  moduleKey,
  nodeHeartbeatFilter,
  REASONS,
  trimNode,
  type KmmNode,
  type NodeView,
  type SecurityOptions,
} from '../common/index.js';
import { compareStrings, planModule, type ModulePlan } from './desired.js';
import {
  micSpec,
  nmcWrites,
  nodeFacts,
  unloadProgress,
  versionsInUse,
  withEntry,
  type EntryWrite,
} from './entries.js';
import {
  decideStatus,
  moduleRequeueMs,
  statusUpdate,
  unloadingConditions,
  type ImageFailure,
} from './status.js';

export { withEntry } from './entries.js';

export interface ModuleControllerOptions extends SecurityOptions {
  /** Service account of device plugins in the operator's namespace. */
  devicePluginServiceAccount: string;
  workers?: number;
  /** NMC and Node changes are gathered this long before their Modules are reconciled [500 ms]. */
  nmcBatchMs?: number;
  /** Parallel NMC writes while applying a plan. */
  writeConcurrency?: number;
}

const KmmDaemonSets = DaemonSets as ResourceType<DaemonSetObject>;
interface EventObject extends KubeObject {
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
}
const KmmEvents = Events as ResourceType<EventObject>;

/** The Module's controller reference, on its ModuleImagesConfig and device-plugin DaemonSets. */
const moduleOwner = (m: Module) =>
  ownerReference(m, { controller: true, blockOwnerDeletion: true });

/**
 * The Module controller: maps the Module onto the nodes (a NodeModulesConfig entry per node
 * whose kernel has a mapping and whose image exists), keeps its ModuleImagesConfig and device
 * plugin DaemonSet, and reports counts and conditions. Its finalizer removes the Module's
 * entries everywhere and waits until every node has unloaded it.
 */
export function setupModuleController(mgr: Manager, opts: ModuleControllerOptions): void {
  const inf = kmmInformers(mgr);
  const mics = mgr.informers.informer(ModuleImagesConfigs);
  const dss = mgr.informers.informer(KmmDaemonSets, {
    labelSelector: 'kmm.node.kubernetes.io/device-plugin',
  });
  const modulesApi = mgr.api(Modules);
  const nmcApi = mgr.api(NodeModulesConfigs);
  const micApi = mgr.api(ModuleImagesConfigs);
  const dsApi = mgr.api(KmmDaemonSets);
  const mbscApi = mgr.api(ModuleBuildSignConfigs);
  const eventsApi = mgr.api(KmmEvents);
  const concurrency = opts.writeConcurrency ?? 32;
  /** Per node: an NMC we created that the cache has not delivered yet. */
  const created = new Expectations<NodeModulesConfig>();
  /** Per Module: how often a failed build or sign was looked at without finding its event. */
  const unexplainedTries = new Map<string, number>();
  /** When each Module's status was last written. */
  const lastStatusWrite = new Map<string, number>();

  const modulesForNode = (n: KmmNode): Request[] =>
    inf.modules
      .list()
      .filter((m) => matchesSelector(n, m.spec.selector))
      .map((m) => ({ namespace: m.metadata.namespace, name: m.metadata.name! }));
  const modulesOfNmc = (nmc: NodeModulesConfig): Request[] => {
    const keys = new Map<string, Request>();
    for (const e of [...(nmc.spec.modules ?? []), ...(nmc.status?.modules ?? [])]) {
      keys.set(moduleKey(e), { namespace: e.namespace, name: e.name });
    }
    return [...keys.values()];
  };

  // NMC status changes only move a Module's counts, and during a roll-out every node reports
  // within seconds; each node's ready label (the NMC controller's write) is a Node change too.
  // Gather both and reconcile each Module at most once per batch. Without this the Module's
  // O(nodes) reconcile would run once per node, O(nodes²) work on one event loop.
  const pending = new Map<string, Request>();
  let flush: NodeJS.Timeout | undefined;
  const batched =
    <T>(map: (o: T) => Request[]) =>
    (o: T): Request[] => {
      for (const r of map(o)) pending.set(`${r.namespace}/${r.name}`, r);
      flush ??= setTimeout(() => {
        flush = undefined;
        for (const r of pending.values()) controller.enqueue(r);
        pending.clear();
      }, opts.nmcBatchMs ?? 500).unref();
      return [];
    };

  const controller = mgr
    .controller('kmm-module')
    .for(Modules)
    .owns(ModuleImagesConfigs)
    .owns(KmmDaemonSets, { informer: { labelSelector: 'kmm.node.kubernetes.io/device-plugin' } })
    .watches(KmmNodes, batched(modulesForNode), {
      predicates: [nodeHeartbeatFilter],
      informer: { transform: trimNode },
    })
    .watches(NodeModulesConfigs, batched(modulesOfNmc))
    .workers(opts.workers ?? 4)
    .complete(async (req, { log }): Promise<Result | void> => {
      const cached = inf.modules.getByName(req.name, req.namespace);
      if (!cached) return;
      const [ns, name] = [req.namespace!, req.name];
      const nodes = inf.nodes.list();
      const nodeViews = new Map<string, NodeView>(
        nodes.map((n) => [
          n.metadata.name!,
          { bootID: n.status?.nodeInfo?.bootID, ready: isNodeReady(n) },
        ]),
      );
      const nmcs = inf.nmcs.list();
      if (cached.metadata.deletionTimestamp) return finalize(cached, nmcs, nodeViews);

      const module = cached.metadata.finalizers?.includes(MODULE_FINALIZER)
        ? cached
        : await addFinalizer(modulesApi, cached, MODULE_FINALIZER);
      const mic = mics.getByName(name, ns);
      const states = new Map<string, ImageState>(
        (mic?.status?.imagesStates ?? []).map((s) => [s.image, s.status]),
      );
      const plan = planModule(module, nodes, states, opts);
      log.debug('plan', {
        targets: plan.targets.length,
        entries: plan.entries.size,
        images: plan.images.length,
      });
      if (module.spec.moduleLoader) await syncMic(module, mic, plan);

      // NMC entries: set where wanted, removed where not (kept nodes are left alone).
      const writes = nmcWrites(plan, nmcs, ns, name);
      const errors = await writeEntries(writes, nmcs, ns, name);
      log.debug('nmc writes', { writes: writes.length, errors: errors.length });
      const devicePlugins = await syncDevicePlugins(module, nmcs, nodeViews);

      const failed = await imageFailures(module, mic, plan);
      const decision = decideStatus({
        module,
        plan,
        nodes: nodeFacts(plan, nmcs, nodeViews, ns, name, lastErrorAnnotation(ns, name)),
        imageFailures: failed.failures,
        devicePlugins: devicePlugins.map((d) => d.status ?? {}),
      });
      const wait = await writeStatus(module, decision.conditions, {
        moduleLoader: decision.moduleLoader,
        devicePlugin: decision.devicePlugin,
      });
      throwAll(errors);
      const key = `${ns}/${name}`;
      const tries = failed.unexplained ? (unexplainedTries.get(key) ?? 0) + 1 : 0;
      if (tries) unexplainedTries.set(key, tries);
      else unexplainedTries.delete(key);
      const again = moduleRequeueMs(wait, tries);
      if (again !== undefined) return { requeueAfter: again };
    });

  /**
   * A Module being deleted: its entries go from every NMC; the finalizer stays until every
   * existing node has unloaded it.
   */
  async function finalize(
    module: Module,
    nmcs: readonly NodeModulesConfig[],
    nodeViews: ReadonlyMap<string, NodeView>,
  ): Promise<void> {
    if (!module.metadata.finalizers?.includes(MODULE_FINALIZER)) return;
    const [ns, name] = [module.metadata.namespace!, module.metadata.name!];
    const { listedIn, loadedOn } = unloadProgress(nmcs, new Set(nodeViews.keys()), ns, name);
    const writes = listedIn.map((c): EntryWrite => [c.metadata.name!, null]);
    throwAll(await writeEntries(writes, nmcs, ns, name));
    if (loadedOn.length) {
      await writeStatus(module, unloadingConditions(loadedOn));
      return;
    }
    unexplainedTries.delete(`${ns}/${name}`);
    await removeFinalizer(modulesApi, module, MODULE_FINALIZER);
  }

  /**
   * Builds and signs that failed for the Module's images: which one (the MBSC's results) and
   * why (the newest BuildFailed/SignFailed event the image controllers wrote on the Module that
   * names the image). Read from the API only when an image with build or sign is DoesNotExist,
   * which happens only after such a failure. `unexplained`: a failure whose event was not found
   * yet (events are written a moment after the result).
   */
  async function imageFailures(
    module: Module,
    mic: ModuleImagesConfig | undefined,
    plan: ModulePlan,
  ): Promise<{ failures: ImageFailure[]; unexplained: boolean }> {
    const specs = new Map((mic?.spec.images ?? []).map((i) => [i.image, i]));
    const failed = plan.waiting.filter((w) => {
      const spec = specs.get(w.image);
      return w.state === 'DoesNotExist' && (spec?.build || spec?.sign);
    });
    if (!failed.length) return { failures: [], unexplained: false };
    const ns = module.metadata.namespace!;
    const name = module.metadata.name!;
    const [mbsc, events] = await Promise.all([
      mbscApi.find(name, ns),
      eventsApi.list({
        namespace: ns,
        fieldSelector: `involvedObject.uid=${module.metadata.uid},type=Warning`,
      }),
    ]);
    const when = (e: EventObject) =>
      e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '';
    const newestFirst = events.items
      .filter((e) => e.reason === REASONS.buildFailed || e.reason === REASONS.signFailed)
      .sort((a, b) => compareStrings(when(b), when(a)));
    let unexplained = false;
    const failures: ImageFailure[] = [];
    for (const w of failed) {
      const result = (mbsc?.status?.images ?? [])
        .filter((r) => r.image === w.image && r.status === 'Failure')
        .pop();
      if (!result) continue;
      const reason = result.action === 'BuildImage' ? REASONS.buildFailed : REASONS.signFailed;
      const event = newestFirst.find((e) => e.reason === reason && e.message?.includes(w.image));
      if (!event) unexplained = true;
      failures.push({
        image: w.image,
        kernel: w.kernel,
        action: result.action,
        object: mbsc!.metadata.name!,
        ...(event?.message ? { reason: event.message } : {}),
      });
    }
    return { failures, unexplained };
  }

  /** Applies entry writes, `concurrency` at a time; returns the failures (every write is tried). */
  function writeEntries(
    writes: readonly EntryWrite[],
    nmcs: readonly NodeModulesConfig[],
    ns: string,
    name: string,
  ): Promise<unknown[]> {
    const byNode = new Map(nmcs.map((c) => [c.metadata.name!, c]));
    return settleEach(writes, concurrency, ([node, entry]) =>
      writeEntry(node, byNode.get(node), ns, name, entry),
    );
  }

  /**
   * Sets (or with `entry` null removes) the Module's entry in a node's NMC. The list is written
   * whole, guarded by the resourceVersion read, so a concurrent write for another Module fails
   * with Conflict instead of being undone; then the NMC is read again and the write retried
   * here, rather than failing the whole reconcile (whose backoff would grow with cluster size).
   */
  async function writeEntry(
    node: string,
    cachedNmc: NodeModulesConfig | undefined,
    ns: string,
    name: string,
    entry: NodeModuleSpec | null,
  ): Promise<void> {
    // An NMC we created that the cache has not delivered yet: build on it, not on nothing.
    let current = cachedNmc ?? created.pending(node);
    if (cachedNmc) created.observed(node);
    for (let attempt = 0; ; attempt++) {
      try {
        if (!current) {
          if (!entry) return;
          const made = await nmcApi.create({
            apiVersion: `${NodeModulesConfigs.group}/${NodeModulesConfigs.version}`,
            kind: 'NodeModulesConfig',
            metadata: { name: node },
            spec: { modules: [entry] },
          });
          created.expect(node, made);
          return;
        }
        const modules = withEntry(current, ns, name, entry);
        if (deepEqual(current.spec.modules ?? [], modules)) return;
        await nmcApi.patch(node, {
          metadata: { resourceVersion: current.metadata.resourceVersion },
          spec: { modules },
        });
        return;
      } catch (e) {
        if (attempt >= 4 || !(isKubeError(e, 'Conflict') || isKubeError(e, 'AlreadyExists'))) {
          throw e;
        }
      }
      current = await nmcApi.find(node);
    }
  }

  /** Keeps the Module's ModuleImagesConfig (owned by the Module) at micSpec. */
  async function syncMic(module: Module, mic: ModuleImagesConfig | undefined, plan: ModulePlan) {
    const spec = micSpec(module, plan);
    if (mic && deepEqual(mic.spec, spec)) return;
    const metadata = {
      name: module.metadata.name!,
      namespace: module.metadata.namespace!,
      ownerReferences: [moduleOwner(module)],
    };
    await createOrPatch(
      micApi,
      {
        apiVersion: `${ModuleImagesConfigs.group}/${ModuleImagesConfigs.version}`,
        kind: 'ModuleImagesConfig',
        metadata,
        spec,
      },
      (m) => {
        m.spec = structuredClone(spec);
      },
    ).catch((e) => {
      if (!isKubeError(e, 'AlreadyExists')) throw e;
    });
  }

  /**
   * Keeps the Module's device-plugin DaemonSets (see planDevicePlugins): the current version's
   * created or updated, older versions left alone while a node still runs or is to run them
   * (its NMC status or spec), the rest deleted. Returns the DaemonSets that stay, for the status counts.
   */
  async function syncDevicePlugins(
    module: Module,
    nmcs: readonly NodeModulesConfig[],
    nodeViews: ReadonlyMap<string, NodeView>,
  ): Promise<DaemonSetObject[]> {
    const ns = module.metadata.namespace!;
    const name = module.metadata.name!;
    const existing = dss
      .list()
      .filter(
        (d) =>
          d.metadata.namespace === ns &&
          d.metadata.labels?.[DEVICE_PLUGIN_LABEL] === labelValue(name) &&
          d.metadata.ownerReferences?.some((o) => o.uid === module.metadata.uid),
      );
    const plan = planDevicePlugins(
      module,
      existing,
      versionsInUse(nmcs, new Set(nodeViews.keys()), ns, name),
      moduleOwner(module),
      devicePluginServiceAccount(module, opts),
    );
    const errors = await settleEach(plan.remove, 4, (d) =>
      dsApi.deleteIfExists(d.metadata.name!, { namespace: ns }),
    );
    const current = plan.want ? await applyDaemonSet(plan.want, plan.have) : undefined;
    throwAll(errors);
    if (!plan.want) return [];
    return [...plan.keep, ...(current ? [current] : [])];
  }

  /**
   * Creates or updates a device-plugin DaemonSet. Fields the server defaulted are not ours:
   * `want` is laid over the cached one, and only a difference is written.
   */
  async function applyDaemonSet(
    want: DaemonSetObject,
    have: DaemonSetObject | undefined,
  ): Promise<DaemonSetObject | undefined> {
    const same =
      have &&
      deepEqual(have.metadata.labels, want.metadata.labels) &&
      deepEqual(overlay(have.spec, want.spec), have.spec);
    if (same) return have;
    const { name, namespace } = have?.metadata ?? want.metadata;
    const identity = { ...want, metadata: { ...want.metadata, name, namespace } };
    try {
      const { object } = await createOrPatch(dsApi, identity, (ds) => {
        ds.metadata.labels = structuredClone(want.metadata.labels);
        ds.spec = overlay(ds.spec, want.spec) as DaemonSetObject['spec'];
      });
      return object;
    } catch (e) {
      if (isKubeError(e, 'AlreadyExists')) return undefined;
      throw e;
    }
  }

  /** Writes the status if it changed; returns how long to wait before trying again (or 0). */
  async function writeStatus(
    module: Module,
    wanted: ConditionInput[],
    counts?: Pick<NonNullable<Module['status']>, 'moduleLoader' | 'devicePlugin'>,
  ): Promise<number> {
    const key = `${module.metadata.namespace}/${module.metadata.name}`;
    const since = Date.now() - (lastStatusWrite.get(key) ?? 0);
    const { patch, waitMs } = statusUpdate(module, wanted, counts, since);
    if (!patch) return waitMs;
    await modulesApi.patchStatus(module.metadata.name!, patch, {
      namespace: module.metadata.namespace,
    });
    lastStatusWrite.set(key, Date.now());
    return 0;
  }
}
