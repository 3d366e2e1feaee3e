import type { BuildOrSignAction, DaemonSetStatus, Module } from '../../api/index.js';
import {
  mergePatch,
  setCondition,
  type Condition,
  type ConditionInput,
} from '../../runtime/index.js';
import { listNames, type ModulePlan } from './desired.js';
import { CONDITIONS, REASONS, versionModuleLabel } from '../common/index.js';

/** What one node's NodeModulesConfig says about the Module. */
export interface NodeFacts {
  /** Its spec lists the Module (or is about to: the plan gives it an entry). */
  configured: boolean;
  /** Loaded with exactly the wanted config, in the node's current boot. */
  loaded: boolean;
  /** The last load or unload failure recorded on the NMC. */
  error?: string;
}

/** A build or sign whose failure keeps an image from existing. */
export interface ImageFailure {
  image: string;
  kernel: string;
  action: BuildOrSignAction;
  /** The ModuleBuildSignConfig that ran it. */
  object: string;
  /** What the image controllers reported (their BuildFailed/SignFailed event), if found. */
  reason?: string;
}

/** Everything the Module's status is decided from; the controller gathers it from caches. */
export interface StatusFacts {
  module: Module;
  plan: ModulePlan;
  /** Per node with an NMC. */
  nodes: ReadonlyMap<string, NodeFacts>;
  imageFailures: readonly ImageFailure[];
  /** The statuses of the Module's device-plugin DaemonSets (one per version in use). */
  devicePlugins: readonly { desiredNumberScheduled?: number; numberAvailable?: number }[];
}

export interface StatusDecision {
  moduleLoader?: DaemonSetStatus;
  devicePlugin?: DaemonSetStatus;
  conditions: ConditionInput[];
}

/**
 * A failure report in one line: its first line (what failed, and in which pod or Build), and
 * when more follows (build logs end with many lines) the first later line naming an error.
 */
export function failureSummary(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const head = lines[0] ?? '';
  const error = lines.slice(1).find((l) => /\b(error|fail|fatal)/i.test(l));
  return error ? `${head} … ${error}` : head;
}

/** The conditions of a Module being deleted while nodes still have it loaded. */
export function unloadingConditions(loadedOn: readonly string[]): ConditionInput[] {
  const message = `being deleted: unloading from ${loadedOn.length} node(s): ${listNames(loadedOn)}`;
  return [
    { type: CONDITIONS.progressing, status: 'True', reason: REASONS.unloading, message },
    { type: CONDITIONS.ready, status: 'False', reason: REASONS.unloading, message },
  ];
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/**
 * Counts and Ready / Progressing / Degraded conditions of a Module, decided together so that
 * every reason says what the counts say:
 *
 * - `desiredNumber`: target nodes that need the module now — nodes given an entry, nodes
 *   waiting for their image, nodes whose kernel has no mapping, and (ordered upgrade) nodes
 *   still configured with an older version; a selected node not yet labelled for any version
 *   and holding nothing is not counted (the messages name it).
 * - `availableNumber`: those of them where it is loaded with the wanted config in this boot (a
 *   node still running an older image while its new one is awaited is not counted).
 * - Ready is True exactly when availableNumber == desiredNumber > 0 and nothing is Degraded.
 * - Progressing is True while an image is awaited (ImagePending) or a node is still loading;
 *   False otherwise, with ModuleLoaded only when everything desired is loaded, else the reason
 *   of what blocks it.
 * - Degraded is True with the first problem's reason (InvalidModule, BuildFailed, SignFailed,
 *   LoadFailed, NoKernelMapping, ImageMissing), every problem in its message.
 */
export function decideStatus(f: StatusFacts): StatusDecision {
  const { module, plan } = f;
  const out: ConditionInput[] = [];
  const set = (type: string, status: 'True' | 'False', reason: string, message: string) =>
    out.push({ type, status, reason, message });

  let devicePlugin: DaemonSetStatus | undefined;
  if (module.spec.devicePlugin) {
    devicePlugin = {
      nodesMatchingSelectorNumber: plan.matching.length,
      desiredNumber: f.devicePlugins.reduce((s, d) => s + (d.desiredNumberScheduled ?? 0), 0),
      availableNumber: f.devicePlugins.reduce((s, d) => s + (d.numberAvailable ?? 0), 0),
    };
  }

  if (!module.spec.moduleLoader) {
    const dp = devicePlugin ?? { desiredNumber: 0, availableNumber: 0 };
    const [want, have] = [dp.desiredNumber ?? 0, dp.availableNumber ?? 0];
    set(CONDITIONS.degraded, 'False', REASONS.asExpected, 'no module to load: device plugin only');
    if (!plan.targets.length) {
      set(CONDITIONS.progressing, 'False', REASONS.noNodes, noNodesMessage(plan));
      set(CONDITIONS.ready, 'False', REASONS.noNodes, noNodesMessage(plan));
    } else if (have < want || want === 0) {
      const msg = `the in-tree driver is used; device plugin available on ${have} of ${want} node(s)`;
      set(CONDITIONS.progressing, 'True', REASONS.devicePluginStarting, msg);
      set(CONDITIONS.ready, 'False', REASONS.devicePluginStarting, msg);
    } else {
      const msg = `the in-tree driver is used; device plugin available on all ${have} node(s)`;
      set(CONDITIONS.progressing, 'False', REASONS.devicePluginOnly, msg);
      set(CONDITIONS.ready, 'True', REASONS.devicePluginOnly, msg);
    }
    return { devicePlugin, conditions: out };
  }

  const ns = module.metadata.namespace ?? '';
  const name = module.metadata.name ?? '';
  const version = module.spec.moduleLoader.container.version;
  const configured = (n: string) => f.nodes.get(n)?.configured ?? false;
  const desired = new Set<string>([
    ...plan.entries.keys(),
    ...plan.hold.keys(),
    ...[...plan.noMapping.values()].flat(),
    ...[...plan.keep].filter(configured),
  ]);
  const unlabelled = [...plan.keep].filter((n) => !configured(n));
  // A node waiting for a new image still runs its old one: loaded, but not with what it needs.
  const loaded = [...desired].filter((n) => !plan.hold.has(n) && f.nodes.get(n)?.loaded);
  // Nodes that can load now: given an entry, or keeping an older version.
  const loadable = [...plan.entries.keys(), ...[...plan.keep].filter(configured)];
  const notLoaded = loadable.filter((n) => !f.nodes.get(n)?.loaded);
  const moduleLoader: DaemonSetStatus = {
    nodesMatchingSelectorNumber: plan.matching.length,
    desiredNumber: desired.size,
    availableNumber: loaded.length,
  };

  const problems: [string, string][] = [];
  if (plan.invalid) problems.push([REASONS.invalidModule, `${plan.invalid}; fix the Module`]);
  const failedImages = new Set<string>();
  for (const x of f.imageFailures) {
    failedImages.add(x.image);
    const events = x.action === 'BuildImage' ? 'BuildFailed' : 'SignFailed';
    const what = x.reason
      ? `${failureSummary(x.reason)} (ModuleBuildSignConfig ${x.object})`
      : `the ${x.action === 'BuildImage' ? 'build' : 'signing'} of image ${x.image} for kernel ${x.kernel} failed (ModuleBuildSignConfig ${x.object}); the ${events} events of this Module say why`;
    problems.push([
      x.action === 'BuildImage' ? REASONS.buildFailed : REASONS.signFailed,
      `${what}; fix the cause: a Secret or ConfigMap that was missing is picked up by itself, a failed pod runs again once deleted or when spec.imageRebuildTriggerGeneration changes`,
    ]);
  }
  const failures = [...desired]
    .filter((n) => f.nodes.get(n)?.error)
    .sort()
    .map((n) => `${n}: ${f.nodes.get(n)!.error}`);
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
  for (const w of plan.waiting) {
    if (w.state !== 'DoesNotExist' || failedImages.has(w.image)) continue;
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

  const counts = `loaded on ${loaded.length} of ${desired.size} node(s)`;
  const label = `${versionModuleLabel(ns, name)}=${version ?? ''}`;
  // Ordered upgrade: nodes configured with an older version keep it until labelled.
  const older = [...plan.keep].filter(configured);
  const unlabelledNote =
    (older.length
      ? `; ${plural(older.length, 'node')} (${listNames(older)}) keep an older version until labelled ${label}`
      : '') +
    (unlabelled.length
      ? `; ${plural(unlabelled.length, 'selected node')} (${listNames(unlabelled)}) not labelled ${label} get nothing until labelled`
      : '');
  const pending = plan.waiting.filter((w) => w.state !== 'DoesNotExist');
  const allLoaded = loaded.length === desired.size && desired.size > 0;
  // What keeps the Module from being loaded everywhere when nothing is in flight.
  const blocked = (): [string, string] => {
    if (problems.length) return [problems[0]![0], counts + unlabelledNote];
    if (!plan.targets.length) return [REASONS.noNodes, noNodesMessage(plan)];
    if (unlabelled.length) {
      return [
        REASONS.versionNotLabelled,
        `${counts}; label the nodes that should run version ${version ?? ''} ${label}: ${listNames(unlabelled)}`,
      ];
    }
    return [REASONS.noNodes, `no target node reports a kernel version; ${counts}`];
  };

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
  } else if (notLoaded.length) {
    set(
      CONDITIONS.progressing,
      'True',
      REASONS.loading,
      `${counts}; loading on ${listNames(notLoaded)}${unlabelledNote}`,
    );
  } else if (allLoaded) {
    set(
      CONDITIONS.progressing,
      'False',
      REASONS.allLoaded,
      `loaded on all ${desired.size} node(s)${unlabelledNote}`,
    );
  } else {
    const [reason, message] = blocked();
    set(CONDITIONS.progressing, 'False', reason, `nothing in progress: ${message}`);
  }

  if (allLoaded && !problems.length) {
    set(
      CONDITIONS.ready,
      'True',
      REASONS.allLoaded,
      `loaded on all ${desired.size} node(s)${unlabelledNote}`,
    );
  } else if (problems.length) {
    set(CONDITIONS.ready, 'False', problems[0]![0], counts + unlabelledNote);
  } else if (pending.length) {
    set(CONDITIONS.ready, 'False', REASONS.imagePending, `${counts}; waiting for images`);
  } else if (notLoaded.length) {
    set(CONDITIONS.ready, 'False', REASONS.loading, counts + unlabelledNote);
  } else {
    const [reason, message] = blocked();
    set(CONDITIONS.ready, 'False', reason, message);
  }
  return { moduleLoader, devicePlugin, conditions: out };
}

function noNodesMessage(plan: ModulePlan): string {
  const tainted = plan.matching.length - plan.targets.length;
  return tainted
    ? `${plural(plan.matching.length, 'node')} match spec.selector, none schedulable: add tolerations for their taints to spec.tolerations`
    : 'no node matches spec.selector';
}

type ModuleStatus = NonNullable<Module['status']>;

/** While nodes load one after another, counts and messages alone are written at most this often. */
const STATUS_INTERVAL_MS = 1000;
/** How soon to look again for the event that explains a failed build or sign, and how often. */
const FAILURE_EVENT_RETRY_MS = 5000;
const FAILURE_EVENT_TRIES = 6;

/**
 * The status write for the wanted conditions (and counts, when given): `patch` undefined when
 * nothing changes. A change of any condition's status or reason goes at once; a change of
 * counts or messages only (`msSinceLastWrite` < STATUS_INTERVAL_MS) waits `waitMs` first.
 */
export function statusUpdate(
  module: Module,
  wanted: readonly ConditionInput[],
  counts: Pick<ModuleStatus, 'moduleLoader' | 'devicePlugin'> | undefined,
  msSinceLastWrite: number,
): { patch?: object; waitMs: number } {
  const old = module.status ?? {};
  const next: ModuleStatus = structuredClone(old);
  let list = (next.conditions ?? []) as Condition[];
  for (const c of wanted) {
    list = setCondition(list, { ...c, observedGeneration: module.metadata.generation }).conditions;
  }
  next.conditions = list;
  if (counts) {
    if (counts.moduleLoader) next.moduleLoader = counts.moduleLoader;
    else delete next.moduleLoader;
    if (counts.devicePlugin) next.devicePlugin = counts.devicePlugin;
    else delete next.devicePlugin;
  }
  const patch = mergePatch({ status: old }, { status: next }) as object | undefined;
  if (!patch) return { waitMs: 0 };
  const gist = (l: Condition[] | undefined) =>
    JSON.stringify((l ?? []).map((c) => [c.type, c.status, c.reason]));
  if (gist(old.conditions) === gist(list) && msSinceLastWrite < STATUS_INTERVAL_MS) {
    return { waitMs: STATUS_INTERVAL_MS - msSinceLastWrite };
  }
  return { patch, waitMs: 0 };
}

/**
 * When to reconcile the Module again: once a held-back status may be written (`statusWaitMs`),
 * and while a failed build or sign has no explaining event yet (`unexplainedTries`, counted
 * per reconcile), every FAILURE_EVENT_RETRY_MS up to FAILURE_EVENT_TRIES times (events can
 * also have expired: then the condition keeps pointing at the events and the MBSC).
 */
export function moduleRequeueMs(
  statusWaitMs: number,
  unexplainedTries: number,
): number | undefined {
  const again = Math.min(
    statusWaitMs || Infinity,
    unexplainedTries && unexplainedTries <= FAILURE_EVENT_TRIES ? FAILURE_EVENT_RETRY_MS : Infinity,
  );
  return again === Infinity ? undefined : again;
}
