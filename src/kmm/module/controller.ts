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
  addFinalizer,
  deepEqual,
  isKubeError,
  mergePatch,
  removeFinalizer,
  setCondition,
  type Condition,
  type ConditionInput,
  type Manager,
  type OwnerReference,
  type KubeObject,
  type Request,
  type ResourceType,
  type Result,
} from '../../runtime/index.js';
import {
  devicePluginServiceAccount,
  planDevicePlugins,
  type DaemonSetObject,
} from '../devicePlugin/daemonset.js';
import { kmmInformers, KmmNodes, nodeHeartbeatFilter } from '../nmc/controller.js';
import { isLoaded, moduleKey, type NodeView } from '../nmc/plan.js';
import { labelValue } from '../nmc/pod.js';
import { trimNode, isNodeReady, matchesSelector, type KmmNode } from './nodes.js';
import { planModule, type ModulePlan, type SecurityOptions } from './desired.js';
import { DEVICE_PLUGIN_LABEL, lastErrorAnnotation, MODULE_FINALIZER, REASONS } from './labels.js';
import { decideStatus, unloadingConditions, type ImageFailure, type NodeFacts } from './status.js';

export interface ModuleControllerOptions extends SecurityOptions {
  /** Service account of device plugins in the operator's namespace. */
  devicePluginServiceAccount: string;
  workers?: number;
  /** NMC changes are gathered this long before their Modules are reconciled [500 ms]. */
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
const STATUS_INTERVAL_MS = 1000;
/** How soon to look again for the event that explains a failed build or sign. */
const FAILURE_EVENT_RETRY_MS = 5000;
const FAILURE_EVENT_TRIES = 6;
const MODULE_API_VERSION = `${Modules.group}/${Modules.version}`;

function moduleOwner(m: Module, controller: boolean): OwnerReference {
  return {
    apiVersion: MODULE_API_VERSION,
    kind: 'Module',
    name: m.metadata.name!,
    uid: m.metadata.uid!,
    ...(controller ? { controller: true, blockOwnerDeletion: true } : {}),
  };
}

async function mapLimit<T>(
  items: readonly T[],
  n: number,
  fn: (t: T) => Promise<void>,
): Promise<unknown[]> {
  const errors: unknown[] = [];
  let i = 0;
  const run = async () => {
    while (i < items.length) {
      const item = items[i++]!;
      try {
        await fn(item);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, run));
  return errors;
}

/** The spec.modules of an NMC with one Module's entry set (or removed, when `entry` is null). */
export function withEntry(
  nmc: NodeModulesConfig | undefined,
  ns: string,
  name: string,
  entry: NodeModuleSpec | null,
): NodeModuleSpec[] {
  const others = (nmc?.spec.modules ?? []).filter((e) => !(e.namespace === ns && e.name === name));
  const out = entry ? [...others, entry] : others;
  return out.sort((a, b) => moduleKey(a).localeCompare(moduleKey(b)));
}

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
  // within seconds: gather them and reconcile each Module at most once per batch. Without this
  // the Module's O(nodes) reconcile would run once per node, O(nodes²) work on one event loop.
  const pending = new Map<string, Request>();
  let flush: NodeJS.Timeout | undefined;
  const batchedModulesOfNmc = (nmc: NodeModulesConfig): Request[] => {
    for (const r of modulesOfNmc(nmc)) pending.set(`${r.namespace}/${r.name}`, r);
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
    .watches(KmmNodes, modulesForNode, {
      predicates: [nodeHeartbeatFilter],
      informer: { transform: trimNode },
    })
    .watches(NodeModulesConfigs, batchedModulesOfNmc)
    .workers(opts.workers ?? 4)
    .complete(async (req, { log }): Promise<Result | void> => {
      const cached = inf.modules.getByName(req.name, req.namespace);
      if (!cached) return;
      const ns = req.namespace!;
      const name = req.name;
      const nodes = inf.nodes.list();
      const nodeViews = new Map<string, NodeView>(
        nodes.map((n) => [
          n.metadata.name!,
          { bootID: n.status?.nodeInfo?.bootID, ready: isNodeReady(n) },
        ]),
      );
      const nmcs = inf.nmcs.list();

      if (cached.metadata.deletionTimestamp) {
        if (!cached.metadata.finalizers?.includes(MODULE_FINALIZER)) return;
        const errors = await mapLimit(
          nmcs.filter((c) => c.spec.modules?.some((e) => e.namespace === ns && e.name === name)),
          concurrency,
          (c) => writeEntry(c.metadata.name!, c, ns, name, null),
        );
        if (errors.length) throw errors[0];
        // Wait until every existing node has unloaded it (deleted nodes' NMCs go with them).
        const loadedOn = nmcs.filter(
          (c) =>
            nodeViews.has(c.metadata.name!) &&
            c.status?.modules?.some((e) => e.namespace === ns && e.name === name),
        );
        if (loadedOn.length) {
          await writeStatus(cached, unloadingConditions(loadedOn.map((c) => c.metadata.name!)));
          return;
        }
        unexplainedTries.delete(`${ns}/${name}`);
        await removeFinalizer(modulesApi, cached, MODULE_FINALIZER);
        return;
      }

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
      const byNode = new Map(nmcs.map((c) => [c.metadata.name!, c]));
      const writes: [string, NodeModuleSpec | null][] = [];
      for (const [node, entry] of plan.entries) {
        const have = byNode
          .get(node)
          ?.spec.modules?.find((e) => e.namespace === ns && e.name === name);
        if (!have || !deepEqual(have, entry)) writes.push([node, entry]);
      }
      for (const c of nmcs) {
        const node = c.metadata.name!;
        if (plan.entries.has(node) || plan.keep.has(node)) continue;
        const have = c.spec.modules?.find((e) => e.namespace === ns && e.name === name);
        if (have && plan.hold.get(node) === have.config.kernelVersion) continue;
        if (have) writes.push([node, null]);
      }
      const errors = await mapLimit(writes, concurrency, ([node, entry]) =>
        writeEntry(node, byNode.get(node), ns, name, entry),
      );

      log.debug('nmc writes', { writes: writes.length, errors: errors.length });
      const devicePlugins = await syncDevicePlugins(module, nmcs, nodeViews);
      log.debug('device plugin synced');

      // Status: facts from the caches, decided by decideStatus.
      const facts = new Map<string, NodeFacts>();
      for (const c of nmcs) {
        const node = c.metadata.name!;
        const view = nodeViews.get(node);
        const cachedWant = c.spec.modules?.find((e) => e.namespace === ns && e.name === name);
        const want = plan.entries.get(node) ?? cachedWant;
        const have = c.status?.modules?.find((e) => e.namespace === ns && e.name === name);
        const error = c.metadata.annotations?.[lastErrorAnnotation(ns, name)];
        facts.set(node, {
          configured: !!want,
          loaded: !!want && !!view && isLoaded(want, have, view),
          ...(error ? { error } : {}),
        });
      }
      const failed = await imageFailures(module, mic, plan);
      const decision = decideStatus({
        module,
        plan,
        nodes: facts,
        imageFailures: failed.failures,
        devicePlugins: devicePlugins.map((d) => d.status ?? {}),
      });
      const wait = await writeStatus(module, decision.conditions, {
        moduleLoader: decision.moduleLoader,
        devicePlugin: decision.devicePlugin,
      });
      if (errors.length) throw errors[0];
      // A failure whose event is not there yet is looked at again a few times (events can
      // also have expired: then the condition keeps pointing at the events and the MBSC).
      const key = `${ns}/${name}`;
      const tries = failed.unexplained ? (unexplainedTries.get(key) ?? 0) + 1 : 0;
      if (tries) unexplainedTries.set(key, tries);
      else unexplainedTries.delete(key);
      const again = Math.min(
        wait || Infinity,
        tries && tries <= FAILURE_EVENT_TRIES ? FAILURE_EVENT_RETRY_MS : Infinity,
      );
      if (again !== Infinity) return { requeueAfter: again };
    });

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
      .sort((a, b) => when(b).localeCompare(when(a)));
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

  /**
   * Sets (or with `entry` null removes) the Module's entry in a node's NMC. The list is written
   * whole, guarded by the resourceVersion read, so a concurrent write for another Module fails
   * with Conflict instead of being undone; then the NMC is read again and the write retried
   * here, rather than failing the whole reconcile (whose backoff would grow with cluster size).
   */
  const created = new Map<string, NodeModulesConfig>();

  async function writeEntry(
    node: string,
    cachedNmc: NodeModulesConfig | undefined,
    ns: string,
    name: string,
    entry: NodeModuleSpec | null,
  ): Promise<void> {
    // An NMC we created that the cache has not delivered yet: build on it, not on nothing.
    let current = cachedNmc ?? created.get(node);
    if (cachedNmc) created.delete(node);
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
          created.set(node, made);
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

  async function syncMic(module: Module, mic: ModuleImagesConfig | undefined, plan: ModulePlan) {
    const c = module.spec.moduleLoader!.container;
    const spec: ModuleImagesConfig['spec'] = { images: plan.images };
    if (module.spec.imageRepoSecret?.name)
      spec.imageRepoSecret = { ...module.spec.imageRepoSecret };
    // The same pull policy for the existence check as for the worker pods (KMM 2.4 fix).
    spec.imagePullPolicy = c.imagePullPolicy ?? 'IfNotPresent';
    if (module.spec.tolerations?.length) spec.tolerations = module.spec.tolerations;
    if (module.spec.imageRebuildTriggerGeneration !== undefined) {
      spec.imageRebuildTriggerGeneration = module.spec.imageRebuildTriggerGeneration;
    }
    const name = module.metadata.name!;
    const namespace = module.metadata.namespace!;
    if (!mic) {
      await micApi
        .create({
          apiVersion: `${ModuleImagesConfigs.group}/${ModuleImagesConfigs.version}`,
          kind: 'ModuleImagesConfig',
          metadata: { name, namespace, ownerReferences: [moduleOwner(module, true)] },
          spec,
        })
        .catch((e) => {
          if (!isKubeError(e, 'AlreadyExists')) throw e;
        });
      return;
    }
    if (deepEqual(mic.spec, spec)) return;
    await micApi.patch(
      name,
      {
        metadata: { resourceVersion: mic.metadata.resourceVersion },
        spec: { ...nulls(mic.spec, spec), ...spec },
      },
      { namespace },
    );
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
    const inUse = new Set<string>();
    for (const c of nmcs) {
      if (!nodeViews.has(c.metadata.name!)) continue;
      // Loaded, or still to be loaded (a node kept at an older version that has not loaded it yet).
      for (const e of [...(c.status?.modules ?? []), ...(c.spec.modules ?? [])]) {
        if (e.namespace === ns && e.name === name) inUse.add(e.version ?? '');
      }
    }
    const plan = planDevicePlugins(
      module,
      existing,
      inUse,
      moduleOwner(module, true),
      devicePluginServiceAccount(module, opts),
    );
    for (const d of plan.remove) await dsApi.deleteIfExists(d.metadata.name!, { namespace: ns });
    if (!plan.want) return [];
    const current = await applyDaemonSet(plan.want, plan.have);
    return [...plan.keep, ...(current ? [current] : [])];
  }

  async function applyDaemonSet(
    want: DaemonSetObject,
    have: DaemonSetObject | undefined,
  ): Promise<DaemonSetObject | undefined> {
    const namespace = want.metadata.namespace!;
    if (!have) {
      return dsApi.create(want).catch((e) => {
        if (isKubeError(e, 'AlreadyExists')) return undefined;
        throw e;
      });
    }
    const before = { labels: have.metadata.labels, spec: pick(have.spec, want.spec) };
    const after = { labels: want.metadata.labels, spec: want.spec };
    const patch = mergePatch(before, after) as { labels?: unknown; spec?: unknown } | undefined;
    if (!patch) return have;
    return dsApi.patch(
      have.metadata.name!,
      {
        metadata: { resourceVersion: have.metadata.resourceVersion, labels: patch.labels },
        spec: patch.spec,
      },
      { namespace },
    );
  }

  /** Per Module: how often a failed build or sign was looked at without finding its event. */
  const unexplainedTries = new Map<string, number>();

  /** When each Module's status was last written. */
  const lastStatusWrite = new Map<string, number>();

  /** Writes the status if it changed; returns how long to wait before trying again (or 0). */
  async function writeStatus(
    module: Module,
    wanted: ConditionInput[],
    counts?: Pick<NonNullable<Module['status']>, 'moduleLoader' | 'devicePlugin'>,
  ): Promise<number> {
    const old = module.status ?? {};
    const next: NonNullable<Module['status']> = structuredClone(old);
    let list = (next.conditions ?? []) as Condition[];
    for (const c of wanted) {
      list = setCondition(list, {
        ...c,
        observedGeneration: module.metadata.generation,
      }).conditions;
    }
    next.conditions = list;
    if (counts) {
      if (counts.moduleLoader) next.moduleLoader = counts.moduleLoader;
      else delete next.moduleLoader;
      if (counts.devicePlugin) next.devicePlugin = counts.devicePlugin;
      else delete next.devicePlugin;
    }
    const patch = mergePatch({ status: old }, { status: next });
    if (!patch) return 0;
    // While nodes load one after another, counts and messages change with every node: write
    // them at most once a second. A change of any condition's status or reason goes at once.
    const key = `${module.metadata.namespace}/${module.metadata.name}`;
    const gist = (l: Condition[] | undefined) =>
      JSON.stringify((l ?? []).map((c) => [c.type, c.status, c.reason]));
    const since = Date.now() - (lastStatusWrite.get(key) ?? 0);
    if (gist(old.conditions) === gist(list) && since < STATUS_INTERVAL_MS) {
      return STATUS_INTERVAL_MS - since;
    }
    await modulesApi.patchStatus(module.metadata.name!, patch, {
      namespace: module.metadata.namespace,
    });
    lastStatusWrite.set(key, Date.now());
    return 0;
  }
}

/** Only the keys of `have` that `want` also sets: fields the server defaulted are not ours. */
function pick(have: unknown, want: unknown): unknown {
  if (Array.isArray(want) && Array.isArray(have)) {
    return have.length === want.length ? have.map((h, i) => pick(h, want[i])) : have;
  }
  if (typeof want !== 'object' || want === null || typeof have !== 'object' || have === null) {
    return have;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(want)) {
    if (k in (have as Record<string, unknown>))
      out[k] = pick((have as Record<string, unknown>)[k], (want as Record<string, unknown>)[k]);
  }
  return out;
}

/** null for the top-level keys `have` sets and `want` drops, so a merge patch removes them. */
function nulls(have: object, want: object): Record<string, null> {
  const out: Record<string, null> = {};
  for (const k of Object.keys(have)) if (!(k in want)) out[k] = null;
  return out;
}
