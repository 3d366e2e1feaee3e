import type {
  ModuleConfig,
  NodeModuleSpec,
  NodeModuleStatus,
  NodeModulesConfig,
} from '../../api/index.js';
import { deepEqual } from '../../runtime/index.js';
import {
  isLoaded,
  isOwnedNodeLabel,
  lastErrorAnnotation,
  LAST_ERROR_PREFIX,
  moduleKey,
  readyLabel,
  rebooted,
  versionReadyLabel,
  type NodeView,
} from '../common/index.js';
import type { WorkerAction } from './pod.js';

/** A worker pod as the node config controller sees it. */
export interface WorkerPodView {
  name: string;
  namespace: string;
  module: string;
  action: WorkerAction;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Terminating';
  /** For Failed pods: why. */
  message?: string;
  /** The config the pod was given. */
  config?: ModuleConfig;
}

export interface NmcEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  namespace: string;
  module: string;
}

/** What the node config controller does on one reconcile of one node. */
export interface NmcPlan {
  /** The new status.modules, when it changes. */
  status?: NodeModuleStatus[];
  /** Finished worker pods to delete (after the status is written). */
  deletePods: { name: string; namespace: string }[];
  /** Worker pods to create. */
  createPods: { entry: WorkerEntry; config: ModuleConfig; action: WorkerAction }[];
  events: NmcEvent[];
  /** Failure per module key (`ns/name`): a message to record, or null to clear. */
  errors: Map<string, string | null>;
  /** Module keys whose worker failed in this round. */
  failed: string[];
}

export type WorkerEntry = Pick<
  NodeModuleSpec,
  'name' | 'namespace' | 'serviceAccountName' | 'imageRepoSecret' | 'tolerations' | 'version'
>;

function item(e: WorkerEntry): WorkerEntry {
  const out: WorkerEntry = {
    name: e.name,
    namespace: e.namespace,
    serviceAccountName: e.serviceAccountName,
  };
  if (e.imageRepoSecret) out.imageRepoSecret = e.imageRepoSecret;
  if (e.tolerations) out.tolerations = e.tolerations;
  if (e.version) out.version = e.version;
  return out;
}

/**
 * Decides the next steps for one node from its NMC, the node and its worker pods, as
 * upstream's NMC reconciler: finished pods update the status; then per module with no pod
 * in flight, load what is wanted and not loaded (or loaded before a reboot), unload what is
 * loaded but no longer wanted or wanted with another config on the same kernel.
 * `blocked` holds module keys still backing off after a failure.
 */
export function planNode(
  nmc: Pick<NodeModulesConfig, 'spec' | 'status'>,
  node: NodeView,
  pods: readonly WorkerPodView[],
  blocked: ReadonlySet<string>,
  now: string,
): NmcPlan {
  const plan: NmcPlan = {
    deletePods: [],
    createPods: [],
    events: [],
    errors: new Map(),
    failed: [],
  };
  const spec = new Map((nmc.spec.modules ?? []).map((e) => [moduleKey(e), e]));
  const status = new Map(
    (nmc.status?.modules ?? []).map((e) => [moduleKey(e), structuredClone(e)]),
  );
  const busy = new Set<string>();
  let changed = false;
  for (const pod of pods) {
    const key = `${pod.namespace}/${pod.module}`;
    const ref = { name: pod.name, namespace: pod.namespace };
    if (pod.phase === 'Succeeded') {
      plan.deletePods.push(ref);
      busy.add(key);
      plan.errors.set(key, null);
      if (pod.action === 'load' && pod.config) {
        const base = spec.get(key) ??
          status.get(key) ?? {
            name: pod.module,
            namespace: pod.namespace,
            serviceAccountName: '',
          };
        status.set(key, {
          ...item(base),
          config: pod.config,
          bootId: node.bootID,
          lastTransitionTime: now,
        });
        plan.events.push({
          type: 'Normal',
          reason: 'ModuleLoaded',
          message: `Module ${key} loaded into the kernel (${pod.config.kernelVersion}, ${pod.config.containerImage})`,
          namespace: pod.namespace,
          module: pod.module,
        });
      } else if (pod.action === 'unload') {
        status.delete(key);
        plan.events.push({
          type: 'Normal',
          reason: 'ModuleUnloaded',
          message: `Module ${key} unloaded from the kernel`,
          namespace: pod.namespace,
          module: pod.module,
        });
      }
      changed = true;
    } else if (pod.phase === 'Failed') {
      plan.deletePods.push(ref);
      busy.add(key);
      plan.failed.push(key);
      const message = pod.message ?? 'worker pod failed';
      plan.errors.set(key, `${pod.action} failed: ${message}`);
      plan.events.push({
        type: 'Warning',
        reason: pod.action === 'load' ? 'LoadFailed' : 'UnloadFailed',
        message: `Module ${key}: ${pod.action} failed: ${message}`,
        namespace: pod.namespace,
        module: pod.module,
      });
    } else {
      busy.add(key);
    }
  }
  for (const [key, want] of spec) {
    if (busy.has(key) || blocked.has(key)) continue;
    // A config for another kernel than the node runs: the node rebooted into a new kernel and
    // the Module controller has not moved its entry yet. Loading it could only fail.
    if (node.kernelVersion && want.config.kernelVersion !== node.kernelVersion) continue;
    const have = status.get(key);
    if (!have || !have.config) {
      plan.createPods.push({ entry: want, config: want.config, action: 'load' });
    } else if (rebooted(have, node)) {
      plan.createPods.push({ entry: want, config: want.config, action: 'load' });
    } else if (!deepEqual(have.config, want.config)) {
      // Same kernel: the old module is in the kernel and must go first. Another kernel: the
      // node was upgraded (and rebooted), nothing old is loaded.
      if (have.config.kernelVersion === want.config.kernelVersion) {
        plan.createPods.push({ entry: have, config: have.config, action: 'unload' });
      } else {
        plan.createPods.push({ entry: want, config: want.config, action: 'load' });
      }
    }
  }
  for (const [key, have] of status) {
    if (spec.has(key) || busy.has(key) || blocked.has(key)) continue;
    if (rebooted(have, node) || !have.config) {
      status.delete(key);
      changed = true;
      plan.errors.set(key, null);
    } else {
      plan.createPods.push({ entry: have, config: have.config, action: 'unload' });
    }
  }
  if (changed) plan.status = [...status.values()];
  return plan;
}

/**
 * The KMM labels a node should carry for its NMC, given the labels it has (`current`), as
 * upstream decides them. `<ns>.<name>.ready` is added once the module is loaded with its wanted
 * config in this boot; once on the node it stays while the module is wanted (spec) or still
 * loaded (status), and goes only when it is neither: a reload for a new config (unload, then
 * load), a reload after a reboot or an unload in progress never take it away for a moment.
 * `.version.ready=<version>` carries the version the status has loaded, with the ready label.
 */
export function nodeLabels(
  nmc: Pick<NodeModulesConfig, 'spec' | 'status'> | undefined,
  node: NodeView,
  current: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!nmc) return out;
  const spec = new Map((nmc.spec.modules ?? []).map((e) => [moduleKey(e), e]));
  const status = new Map((nmc.status?.modules ?? []).map((e) => [moduleKey(e), e]));
  for (const key of new Set([...spec.keys(), ...status.keys()])) {
    const want = spec.get(key);
    const have = status.get(key);
    const { namespace, name } = (want ?? have)!;
    const ready = readyLabel(namespace, name);
    if (!(ready in current) && !(want && isLoaded(want, have, node))) continue;
    out[ready] = '';
    if (have?.version) out[versionReadyLabel(namespace, name)] = have.version;
  }
  return out;
}

/** Entries of spec.modules whose status has exactly their config in this boot. */
export function loadedCount(
  nmc: Pick<NodeModulesConfig, 'spec' | 'status'>,
  node: NodeView,
): number {
  const status = new Map((nmc.status?.modules ?? []).map((e) => [moduleKey(e), e]));
  return (nmc.spec.modules ?? []).filter((e) => isLoaded(e, status.get(moduleKey(e)), node)).length;
}

/** The module keys an NMC speaks of: wanted (spec) or loaded (status). */
export function nmcModuleKeys(
  nmc: Pick<NodeModulesConfig, 'spec' | 'status'>,
  status: readonly NodeModuleStatus[] | undefined = nmc.status?.modules,
): Set<string> {
  return new Set([...(nmc.spec.modules ?? []).map(moduleKey), ...(status ?? []).map(moduleKey)]);
}

/**
 * The merge patch of an NMC's last-error annotations: each module's error set (or, when null,
 * cleared), and errors of modules the NMC no longer speaks of (`known`) removed. Empty when
 * nothing changes.
 */
export function errorAnnotationsPatch(
  annotations: Readonly<Record<string, string>>,
  errors: ReadonlyMap<string, string | null>,
  known: ReadonlySet<string>,
): Record<string, string | null> {
  const patch: Record<string, string | null> = {};
  const annotationOf = (key: string) => {
    const i = key.indexOf('/');
    return lastErrorAnnotation(key.slice(0, i), key.slice(i + 1));
  };
  for (const [key, msg] of errors) {
    const ann = annotationOf(key);
    if (msg === null ? ann in annotations : annotations[ann] !== msg) patch[ann] = msg;
  }
  const current = new Set([...known].map(annotationOf));
  for (const ann of Object.keys(annotations)) {
    if (ann.startsWith(LAST_ERROR_PREFIX) && !current.has(ann)) patch[ann] = null;
  }
  return patch;
}

/**
 * The merge patch that gives a node the KMM labels `want`: missing or different ones set,
 * KMM-owned ones not wanted removed, other labels left alone. Empty when nothing changes.
 */
export function nodeLabelsPatch(
  have: Readonly<Record<string, string>>,
  want: Readonly<Record<string, string>>,
): Record<string, string | null> {
  const patch: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(want)) if (have[k] !== v) patch[k] = v;
  for (const k of Object.keys(have)) if (isOwnedNodeLabel(k) && !(k in want)) patch[k] = null;
  return patch;
}
