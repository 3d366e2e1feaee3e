/**
 * The Module controller's decisions about NodeModulesConfigs, as pure functions: which nodes'
 * entries to write or remove, what each NMC says about the Module, and the Module's other
 * objects it derives from its plan.
 */
import type {
  Module,
  ModuleImagesConfig,
  NodeModuleSpec,
  NodeModulesConfig,
} from '../../api/index.js';
import { deepEqual } from '../../runtime/index.js';
import { isLoaded, moduleKey, type NodeView } from '../common/index.js';
import { compareStrings, type ModulePlan } from './desired.js';
import type { NodeFacts } from './status.js';

/** A write of one Module's entry in a node's NMC: the entry, or null to remove it. */
export type EntryWrite = [node: string, entry: NodeModuleSpec | null];

function entryOf(nmc: NodeModulesConfig, ns: string, name: string): NodeModuleSpec | undefined {
  return nmc.spec.modules?.find((e) => e.namespace === ns && e.name === name);
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
  return out.sort((a, b) => compareStrings(moduleKey(a), moduleKey(b)));
}

/**
 * The NMC writes that bring the nodes to the plan: an entry set where the plan wants one and
 * the NMC has none or another; removed where the plan wants none, except on nodes the plan
 * keeps (ordered upgrade) and on nodes waiting for their image whose entry is for the kernel
 * they run (it stays until the new image exists).
 */
export function nmcWrites(
  plan: Pick<ModulePlan, 'entries' | 'keep' | 'hold'>,
  nmcs: readonly NodeModulesConfig[],
  ns: string,
  name: string,
): EntryWrite[] {
  const byNode = new Map(nmcs.map((c) => [c.metadata.name!, c]));
  const writes: EntryWrite[] = [];
  for (const [node, entry] of plan.entries) {
    const nmc = byNode.get(node);
    const have = nmc && entryOf(nmc, ns, name);
    if (!have || !deepEqual(have, entry)) writes.push([node, entry]);
  }
  for (const c of nmcs) {
    const node = c.metadata.name!;
    if (plan.entries.has(node) || plan.keep.has(node)) continue;
    const have = entryOf(c, ns, name);
    if (have && plan.hold.get(node) === have.config.kernelVersion) continue;
    if (have) writes.push([node, null]);
  }
  return writes;
}

/**
 * A Module being deleted: the NMCs whose spec still lists it (their entry goes), and the
 * existing nodes whose NMC status still has it loaded (the finalizer waits for them; deleted
 * nodes' NMCs go with them).
 */
export function unloadProgress(
  nmcs: readonly NodeModulesConfig[],
  nodes: ReadonlySet<string>,
  ns: string,
  name: string,
): { listedIn: NodeModulesConfig[]; loadedOn: string[] } {
  const has = (l: readonly { namespace: string; name: string }[] | undefined) =>
    !!l?.some((e) => e.namespace === ns && e.name === name);
  return {
    listedIn: nmcs.filter((c) => has(c.spec.modules)),
    loadedOn: nmcs
      .filter((c) => nodes.has(c.metadata.name!) && has(c.status?.modules))
      .map((c) => c.metadata.name!),
  };
}

/**
 * What each NMC says about the Module, for the status: whether the node is (or is about to be)
 * configured for it, whether it is loaded with the wanted config in the current boot, and its
 * last recorded failure (`errorAnnotation`).
 */
export function nodeFacts(
  plan: Pick<ModulePlan, 'entries'>,
  nmcs: readonly NodeModulesConfig[],
  nodes: ReadonlyMap<string, NodeView>,
  ns: string,
  name: string,
  errorAnnotation: string,
): Map<string, NodeFacts> {
  const facts = new Map<string, NodeFacts>();
  for (const c of nmcs) {
    const node = c.metadata.name!;
    const view = nodes.get(node);
    const want = plan.entries.get(node) ?? entryOf(c, ns, name);
    const have = c.status?.modules?.find((e) => e.namespace === ns && e.name === name);
    const error = c.metadata.annotations?.[errorAnnotation];
    facts.set(node, {
      configured: !!want,
      loaded: !!want && !!view && isLoaded(want, have, view),
      ...(error ? { error } : {}),
    });
  }
  return facts;
}

/**
 * The device-plugin versions in use: loaded on an existing node, or still to be loaded there
 * (a node kept at an older version that has not loaded it yet).
 */
export function versionsInUse(
  nmcs: readonly NodeModulesConfig[],
  nodes: ReadonlySet<string>,
  ns: string,
  name: string,
): Set<string> {
  const inUse = new Set<string>();
  for (const c of nmcs) {
    if (!nodes.has(c.metadata.name!)) continue;
    for (const e of [...(c.status?.modules ?? []), ...(c.spec.modules ?? [])]) {
      if (e.namespace === ns && e.name === name) inUse.add(e.version ?? '');
    }
  }
  return inUse;
}

/**
 * The spec of the Module's ModuleImagesConfig: the images its plan needs, with the Module's
 * pull secret, pull policy (the same for the existence check as for the worker pods),
 * tolerations and rebuild trigger.
 */
export function micSpec(
  module: Module,
  plan: Pick<ModulePlan, 'images'>,
): ModuleImagesConfig['spec'] {
  const c = module.spec.moduleLoader!.container;
  const spec: ModuleImagesConfig['spec'] = { images: plan.images };
  if (module.spec.imageRepoSecret?.name) spec.imageRepoSecret = { ...module.spec.imageRepoSecret };
  spec.imagePullPolicy = c.imagePullPolicy ?? 'IfNotPresent';
  if (module.spec.tolerations?.length) spec.tolerations = module.spec.tolerations;
  if (module.spec.imageRebuildTriggerGeneration !== undefined) {
    spec.imageRebuildTriggerGeneration = module.spec.imageRebuildTriggerGeneration;
  }
  return spec;
}
