import {
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
  type Request,
  type ResourceType,
  type Result,
} from '../../runtime/index.js';
import {
  devicePluginDaemonSet,
  devicePluginServiceAccount,
  type DaemonSetObject,
} from '../devicePlugin/daemonset.js';
import { kmmInformers, KmmNodes, nodeHeartbeatFilter } from '../nmc/controller.js';
import { isLoaded, moduleKey, type NodeView } from '../nmc/plan.js';
import { trimNode, isNodeReady, matchesSelector, type KmmNode } from './nodes.js';
import { planModule, listNames, type ModulePlan, type SecurityOptions } from './desired.js';
import { CONDITIONS, lastErrorAnnotation, MODULE_FINALIZER, REASONS } from './labels.js';

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
const STATUS_INTERVAL_MS = 1000;
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
          await writeStatus(cached, [
            {
              type: CONDITIONS.progressing,
              status: 'True',
              reason: REASONS.unloading,
              message: `unloading from ${loadedOn.length} node(s): ${listNames(loadedOn.map((c) => c.metadata.name!))}`,
            },
          ]);
          return;
        }
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
      const ds = await syncDevicePlugin(module);
      log.debug('device plugin synced');

      // Status: counts and conditions.
      let available = 0;
      const failures: string[] = [];
      for (const c of nmcs) {
        const node = c.metadata.name!;
        const want = c.spec.modules?.find((e) => e.namespace === ns && e.name === name);
        const have = c.status?.modules?.find((e) => e.namespace === ns && e.name === name);
        const view = nodeViews.get(node);
        if (want && view && isLoaded(want, have, view)) available++;
        const err = c.metadata.annotations?.[lastErrorAnnotation(ns, name)];
        if (err && (plan.entries.has(node) || plan.keep.has(node)))
          failures.push(`${node}: ${err}`);
      }
      const desired = module.spec.moduleLoader ? plan.targets.length : 0;
      const wait = await writeStatus(module, conditionsFor(module, plan, available, failures), {
        moduleLoader: module.spec.moduleLoader
          ? {
              nodesMatchingSelectorNumber: plan.matching.length,
              desiredNumber: desired,
              availableNumber: available,
            }
          : undefined,
        devicePlugin: module.spec.devicePlugin
          ? {
              nodesMatchingSelectorNumber: plan.matching.length,
              desiredNumber: ds?.status?.desiredNumberScheduled ?? 0,
              availableNumber: ds?.status?.numberAvailable ?? 0,
            }
          : undefined,
      });
      if (errors.length) throw errors[0];
      if (wait) return { requeueAfter: wait };
    });

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
    spec.imagePullPolicy = (c.imagePullPolicy ??
      'IfNotPresent') as ModuleImagesConfig['spec']['imagePullPolicy'];
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

  async function syncDevicePlugin(module: Module): Promise<DaemonSetObject | undefined> {
    const name = `${module.metadata.name}-device-plugin`;
    const namespace = module.metadata.namespace!;
    const have = dss.getByName(name, namespace);
    const want = devicePluginDaemonSet(
      module,
      moduleOwner(module, true),
      devicePluginServiceAccount(module, opts),
    );
    if (!want) {
      if (have) await dsApi.deleteIfExists(name, { namespace });
      return undefined;
    }
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
      name,
      {
        metadata: { resourceVersion: have.metadata.resourceVersion, labels: patch.labels },
        spec: patch.spec,
      },
      { namespace },
    );
  }

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
    next.conditions = list as NonNullable<Module['status']>['conditions'];
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
    if (gist(old.conditions as Condition[]) === gist(list) && since < STATUS_INTERVAL_MS) {
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

/**
 * Ready / Progressing / Degraded with reasons a user can act on: a pure function of the plan
 * and what the nodes report (setCondition later keeps lastTransitionTime when nothing changes).
 */
export function conditionsFor(
  module: Module,
  plan: ModulePlan,
  available: number,
  failures: string[],
): ConditionInput[] {
  const out: ConditionInput[] = [];
  const set = (type: string, status: 'True' | 'False', reason: string, message: string) =>
    out.push({ type, status, reason, message });
  if (!module.spec.moduleLoader) {
    set(CONDITIONS.degraded, 'False', REASONS.asExpected, 'no module to load: device plugin only');
    set(CONDITIONS.progressing, 'False', REASONS.devicePluginOnly, 'the in-tree driver is used');
    set(
      CONDITIONS.ready,
      'True',
      REASONS.devicePluginOnly,
      `device plugin for ${plan.matching.length} matching node(s)`,
    );
    return out;
  }
  const problems: [string, string][] = [];
  if (plan.invalid) {
    problems.push([REASONS.invalidModule, `${plan.invalid}; fix the Module`]);
  }
  if (failures.length) {
    problems.push([
      REASONS.loadFailed,
      `${failures.length} node(s) failed: ${failures.slice(0, 3).join('; ')}${failures.length > 3 ? '; …' : ''}`,
    ]);
  }
  for (const [kernel, nodes] of plan.noMapping) {
    problems.push([
      REASONS.noKernelMapping,
      `no kernel mapping matches kernel ${kernel} on node(s) ${listNames(nodes)}; add a literal or regexp entry for it to spec.moduleLoader.container.kernelMappings`,
    ]);
  }
  const missing = plan.waiting.filter((w) => w.state === 'DoesNotExist');
  for (const w of missing) {
    problems.push([
      REASONS.imageMissing,
      `image ${w.image} for kernel ${w.kernel} does not exist (node(s) ${listNames(w.nodes)} wait for it); push it, or add build or sign to its kernel mapping`,
    ]);
  }
  if (problems.length) {
    set(CONDITIONS.degraded, 'True', problems[0]![0], problems.map((p) => p[1]).join('\n'));
  } else {
    set(CONDITIONS.degraded, 'False', REASONS.asExpected, 'no problem found');
  }
  const pending = plan.waiting.filter((w) => w.state !== 'DoesNotExist');
  const desired = plan.entries.size;
  if (pending.length) {
    set(
      CONDITIONS.progressing,
      'True',
      REASONS.imagePending,
      pending
        .map(
          (w) =>
            `image ${w.image} for kernel ${w.kernel}: ${w.state === 'Unknown' ? 'not checked yet' : w.state}`,
        )
        .join('\n'),
    );
  } else if (available < desired) {
    set(
      CONDITIONS.progressing,
      'True',
      REASONS.loading,
      `loaded on ${available} of ${desired} node(s)`,
    );
  } else {
    set(CONDITIONS.progressing, 'False', REASONS.allLoaded, `loaded on ${available} node(s)`);
  }
  if (!plan.targets.length) {
    set(CONDITIONS.ready, 'False', REASONS.noNodes, 'no schedulable node matches spec.selector');
  } else if (
    available >= plan.targets.length - plan.keep.size &&
    available > 0 &&
    !problems.length
  ) {
    set(CONDITIONS.ready, 'True', REASONS.allLoaded, `loaded on all ${available} target node(s)`);
  } else {
    set(
      CONDITIONS.ready,
      'False',
      problems.length ? problems[0]![0] : REASONS.loading,
      `loaded on ${available} of ${plan.targets.length} target node(s)`,
    );
  }
  return out;
}
