/**
 * The NodeFeatureDiscovery controller: renders the operands (render.ts), writes what differs
 * (sync.ts), deletes what the CR no longer asks for, and reports conditions (status.ts). Its
 * finalizer removes the operands and, with prunerOnDelete, what NFD put on the nodes.
 */
import { NodeFeatureDiscoveries, type NodeFeatureDiscovery } from '../../api/index.js';
import {
  ConfigMaps,
  DaemonSets,
  Deployments,
  EventRecorder,
  Events,
  Pods,
  ServiceAccounts,
  Services,
  addFinalizer,
  hasFinalizer,
  isKubeError,
  mergePatch,
  removeFinalizer,
  setCondition,
  type Condition,
  type Controller,
  type Informer,
  type KubeObject,
  type Manager,
  type Request,
  type ResourceType,
  type Result,
} from '../../runtime/index.js';
import { pruneNodes } from '../master/prune.js';
import {
  COMPONENTS,
  CONDITIONS,
  EVENTS,
  FINALIZER,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  OWNER_ANNOTATION,
  REASONS,
  type Component,
} from './constants.js';
import {
  operandNames,
  renderOperands,
  RenderError,
  topologyEnabled,
  type Operand,
  type OperatorSettings,
} from './render.js';
import { ClusterRoleBindings, ClusterRoles, RoleBindings, Roles } from './resources.js';
import {
  componentHealth,
  computeConditions,
  type ComponentState,
  type StatusInput,
} from './status.js';
import { desiredState, OwnershipConflict } from './sync.js';
import { validateWorkerConfig } from './worker-config.js';

export interface NfdOperatorOptions {
  settings: OperatorSettings;
  /** Watch only this namespace; all namespaces when absent. */
  namespace?: string;
  workers?: number;
  /** How long to wait between checks while pods of a deleted master still run [2 s]. */
  pruneWaitMs?: number;
  /**
   * While an operand is not available or still rolling out, look again this often [15 s]:
   * the Warning events that explain it change no watched object.
   */
  recheckMs?: number;
  /**
   * A change of condition messages only (counts of pods during a roll-out) is written at most
   * this often per CR [5 s]; a change of status, reason or generation is written at once.
   */
  messageIntervalMs?: number;
}

/** Counters the benchmark reads: writes to operands by result. */
export interface OperatorStats {
  created: number;
  updated: number;
  deleted: number;
  statusWrites: number;
}

const OPERAND_TYPES: ResourceType<Operand>[] = [
  ServiceAccounts,
  Roles,
  RoleBindings,
  ClusterRoles,
  ClusterRoleBindings,
  ConfigMaps,
  Services,
  DaemonSets,
  Deployments,
] as ResourceType<Operand>[];

const typeKey = (apiVersion: string, kind: string) => `${apiVersion}|${kind}`;
const TYPES = new Map(
  OPERAND_TYPES.map((t) => [typeKey(t.group ? `${t.group}/${t.version}` : t.version, t.kind), t]),
);

function typeOf(o: { apiVersion: string; kind: string }): ResourceType<Operand> {
  const t = TYPES.get(typeKey(o.apiVersion, o.kind));
  if (!t) throw new Error(`no resource type for ${o.apiVersion} ${o.kind}`);
  return t;
}

/** The request of the CR named by a cluster-scoped operand's owner annotation. */
function requestFromAnnotation(o: KubeObject): Request[] {
  const v = o.metadata.annotations?.[OWNER_ANNOTATION];
  const i = v?.indexOf('/') ?? -1;
  return v && i > 0 ? [{ namespace: v.slice(0, i), name: v.slice(i + 1) }] : [];
}

/** Whether the object was written for this CR: its controller, or its owner annotation. */
function ownedBy(cr: NodeFeatureDiscovery): (o: KubeObject) => boolean {
  const key = `${cr.metadata.namespace}/${cr.metadata.name}`;
  return (o) =>
    (o.metadata.ownerReferences?.some((r) => r.controller && r.uid === cr.metadata.uid) ?? false) ||
    o.metadata.annotations?.[OWNER_ANNOTATION] === key;
}

export function setupNfdOperator(
  mgr: Manager,
  opts: NfdOperatorOptions,
): { controller: Controller; stats: OperatorStats } {
  const { settings } = opts;
  const stats: OperatorStats = { created: 0, updated: 0, deleted: 0, statusWrites: 0 };
  const writes = mgr.metrics.registry.counter({
    name: 'nfd_operator_writes_total',
    help: 'Objects written by the NFD operator: operands created, updated, deleted; CR status',
    labelNames: ['operation'],
  });
  const count = (op: keyof OperatorStats) => {
    stats[op]++;
    writes.inc({ operation: op });
  };
  const events = new EventRecorder(mgr.client, { component: 'nfd-operator' }, mgr.log);
  const selector = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
  const nsOpt = opts.namespace ? { namespace: opts.namespace } : {};
  const crApi = mgr.api(NodeFeatureDiscoveries);
  const crs = mgr.informers.informer(NodeFeatureDiscoveries, nsOpt);
  const caches = new Map<ResourceType<Operand>, Informer<Operand>>();
  const cacheOf = (t: ResourceType<Operand>) => {
    let inf = caches.get(t);
    if (!inf) {
      inf = mgr.informers.informer(t, {
        labelSelector: selector,
        ...(t.namespaced ? nsOpt : {}),
      });
      caches.set(t, inf);
    }
    return inf;
  };

  let b = mgr.controller('nfd-operator').for(NodeFeatureDiscoveries, { informer: nsOpt });
  for (const t of OPERAND_TYPES) {
    cacheOf(t);
    const informer = { labelSelector: selector, ...(t.namespaced ? nsOpt : {}) };
    b = t.namespaced ? b.owns(t, { informer }) : b.watches(t, requestFromAnnotation, { informer });
  }

  /** Writes one operand if it differs; returns what happened. */
  const apply = async (desired: Operand): Promise<'created' | 'updated' | 'unchanged'> => {
    const t = typeOf(desired);
    const api = mgr.api(t);
    const { name, namespace } = desired.metadata;
    let current = cacheOf(t).getByName(name!, namespace);
    if (!current) {
      try {
        // Created as an update would leave it (with the hash), so the next pass writes nothing.
        const fresh: Operand = {
          apiVersion: desired.apiVersion,
          kind: desired.kind,
          metadata: { name, ...(namespace ? { namespace } : {}) },
        };
        desiredState(fresh, desired);
        await api.create(fresh);
        count('created');
        return 'created';
      } catch (e) {
        // Made by hand or by an older operator, without our label: take it over.
        if (!isKubeError(e, 'AlreadyExists')) throw e;
        current = await api.get(name!, namespace);
      }
    }
    const next = structuredClone(current);
    desiredState(next, desired);
    const { status: _a, ...from } = current as Operand & { status?: unknown };
    const { status: _b, ...to } = next as Operand & { status?: unknown };
    const patch = mergePatch(from, to) as { metadata?: Record<string, unknown> } | undefined;
    if (!patch) return 'unchanged';
    patch.metadata = { ...patch.metadata, resourceVersion: current.metadata.resourceVersion };
    await api.patch(name!, patch, { namespace });
    count('updated');
    return 'updated';
  };

  /** Every cached object this CR owns, in apply order (so deletion can go in reverse). */
  const owned = (cr: NodeFeatureDiscovery): { t: ResourceType<Operand>; o: Operand }[] => {
    const mine = ownedBy(cr);
    return OPERAND_TYPES.flatMap((t) =>
      cacheOf(t)
        .list()
        .filter(mine)
        .map((o) => ({ t, o })),
    );
  };

  const remove = async (t: ResourceType<Operand>, o: Operand): Promise<boolean> => {
    const gone = await mgr.api(t).deleteIfExists(o.metadata.name!, {
      namespace: o.metadata.namespace,
      preconditions: { uid: o.metadata.uid },
    });
    if (gone) count('deleted');
    return gone;
  };

  const lastWarning = async (ns: string, kind: string, name: string) => {
    const { items } = await mgr.api(Events).list({
      namespace: ns,
      fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name},type=Warning`,
    });
    const latest = (
      items as (KubeObject & { lastTimestamp?: string; reason?: string; message?: string })[]
    )
      .sort((a, b) => (a.lastTimestamp ?? '').localeCompare(b.lastTimestamp ?? ''))
      .at(-1);
    return latest ? `${latest.reason}: ${latest.message}` : undefined;
  };

  const components = (cr: NodeFeatureDiscovery): ComponentState[] => {
    const names = operandNames(cr);
    const ns = cr.metadata.namespace!;
    const wanted: { component: Component; kind: 'DaemonSet' | 'Deployment' }[] = [
      { component: 'nfd-master', kind: 'Deployment' },
      { component: 'nfd-worker', kind: 'DaemonSet' },
      { component: 'nfd-gc', kind: 'Deployment' },
      ...(topologyEnabled(cr)
        ? [{ component: 'nfd-topology-updater' as const, kind: 'DaemonSet' as const }]
        : []),
    ];
    const out: ComponentState[] = [];
    for (const w of wanted) {
      const name = names.of(w.component);
      const t = w.kind === 'DaemonSet' ? DaemonSets : Deployments;
      const workload = cacheOf(t).getByName(name, ns) as ComponentState['workload'];
      const state: ComponentState = { ...w, name, workload };
      out.push(state);
    }
    return out;
  };

  const lastStatusWrite = new Map<string, number>();
  /**
   * Writes the conditions if they changed. Returns whether every operand is available and up
   * to date, and when to come back for a message change that was held back.
   */
  const writeStatus = async (
    cr: NodeFeatureDiscovery,
    input: StatusInput,
  ): Promise<{ settled: boolean; retryMs?: number }> => {
    const states = input.components;
    // Warnings are looked up only for workloads that are not available.
    for (const c of states) {
      if (c.workload && !componentHealth(c).available) {
        c.warning = await lastWarning(cr.metadata.namespace!, c.kind, c.name).catch(
          () => undefined,
        );
      }
    }
    const old = (cr.status?.conditions ?? []) as Condition[];
    let conditions = old;
    let changed = false;
    const computed = computeConditions(input);
    const status = (type: string) => computed.find((c) => c.type === type)?.status;
    const settled =
      status(CONDITIONS.available) === 'True' && status(CONDITIONS.progressing) === 'False';
    for (const c of computed) {
      const r = setCondition(conditions, c);
      conditions = r.conditions;
      changed ||= r.changed;
    }
    if (!changed) return { settled };
    const key = `${cr.metadata.namespace}/${cr.metadata.name}`;
    const significant = computed.some((c) => {
      const o = old.find((x) => x.type === c.type);
      return (
        !o ||
        o.status !== c.status ||
        o.reason !== c.reason ||
        o.observedGeneration !== c.observedGeneration
      );
    });
    const wait = (lastStatusWrite.get(key) ?? 0) + (opts.messageIntervalMs ?? 5000) - Date.now();
    if (!significant && wait > 0) return { settled, retryMs: wait };
    // No resourceVersion guard: this controller is the only writer of the conditions, and a
    // write from a stale cache is followed by the reconcile its own update event causes.
    await crApi.patchStatus(
      cr.metadata.name!,
      { status: { conditions } },
      { namespace: cr.metadata.namespace },
    );
    lastStatusWrite.set(key, Date.now());
    count('statusWrites');
    return { settled };
  };

  const finalize = async (
    cr: NodeFeatureDiscovery,
    log: Manager['log'],
  ): Promise<Result | void> => {
    if (!hasFinalizer(cr, FINALIZER)) return;
    const ns = cr.metadata.namespace!;
    if (cr.spec?.prunerOnDelete) {
      // Stop whatever writes labels first, so that nothing puts them back after the prune.
      for (const { t, o } of owned(cr)) {
        if (o.kind === 'Deployment' || o.kind === 'DaemonSet') await remove(t, o);
      }
      const names = operandNames(cr);
      const running = await mgr.api(Pods).list({
        namespace: ns,
        labelSelector: `app in (${COMPONENTS.map((c) => names.of(c)).join(',')})`,
      });
      if (running.items.length) {
        log.info('waiting for operand pods to stop before pruning', { pods: running.items.length });
        return { requeueAfter: opts.pruneWaitMs ?? 2000 };
      }
      const n = await pruneNodes(mgr.client, cr.spec.instance || undefined, log);
      void events.event(
        cr,
        'Normal',
        EVENTS.pruned,
        `removed NFD labels, annotations, taints and extended resources from ${n} node(s)`,
      );
    }
    const all = owned(cr).reverse();
    for (const { t, o } of all) await remove(t, o);
    void events.event(cr, 'Normal', EVENTS.deleted, `deleted ${all.length} operand object(s)`);
    await removeFinalizer(crApi, cr, FINALIZER);
    lastStatusWrite.delete(`${ns}/${cr.metadata.name}`);
  };

  const controller = b
    .workers(opts.workers ?? 2)
    .complete(async (req, { log }): Promise<Result | void> => {
      const cached = crs.getByName(req.name, req.namespace);
      if (!cached) return;
      if (cached.metadata.deletionTimestamp) return finalize(cached, log);
      const cr = await addFinalizer(crApi, cached, FINALIZER);

      let rendered;
      try {
        rendered = renderOperands(cr, settings);
        await validateWorkerConfig(rendered.objects);
      } catch (e) {
        if (!(e instanceof RenderError)) throw e;
        void events.event(cr, 'Warning', EVENTS.invalid, e.message);
        await writeStatus(cr, {
          generation: cr.metadata.generation,
          components: components(cr),
          invalid: e.message,
        });
        return; // an edit of the CR tries again
      }
      for (const w of rendered.warnings) void events.event(cr, 'Warning', EVENTS.unsupported, w);

      let applyError: StatusInput['applyError'];
      let failure: Error | undefined;
      for (const o of rendered.objects) {
        try {
          const result = await apply(o);
          if (result !== 'unchanged')
            log.info('operand written', { kind: o.kind, name: o.metadata.name, result });
        } catch (e) {
          failure ??= e instanceof Error ? e : new Error(String(e));
          const conflict = e instanceof OwnershipConflict;
          applyError ??= {
            reason: conflict ? REASONS.conflict : REASONS.applyFailed,
            message: `${o.kind} ${o.metadata.name}: ${(e as Error).message}`,
          };
        }
      }
      // What the CR no longer asks for: a topology updater switched off, a former instance's.
      const wanted = new Set(rendered.objects.map((o) => `${o.kind}/${o.metadata.name}`));
      for (const { t, o } of owned(cr).reverse()) {
        if (wanted.has(`${o.kind}/${o.metadata.name}`)) continue;
        try {
          if (await remove(t, o))
            log.info('operand deleted', { kind: o.kind, name: o.metadata.name });
        } catch (e) {
          failure ??= e instanceof Error ? e : new Error(String(e));
        }
      }
      const { settled, retryMs } = await writeStatus(cr, {
        generation: cr.metadata.generation,
        components: components(cr),
        applyError,
      });
      // Another owner's object stays until a person acts; anything else is retried.
      if (failure && !(failure instanceof OwnershipConflict)) throw failure;
      if (retryMs !== undefined) return { requeueAfter: retryMs };
      if (!settled) return { requeueAfter: opts.recheckMs ?? 15_000 };
    });

  return { controller, stats };
}
