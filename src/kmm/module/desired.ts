import type {
  ImageState,
  Module,
  ModuleConfig,
  ModuleImageSpec,
  NodeModuleSpec,
} from '../../api/index.js';
import { resolveKernelMapping } from '../kernelmapping/index.js';
import type { ResolvedMapping } from '../kernelmapping/index.js';
import {
  isSchedulable,
  matchesSelector,
  nodeKernel,
  versionModuleLabel,
  type KmmNode,
  type SecurityOptions,
} from '../common/index.js';

/** What one Module wants, derived from the Module, the nodes and the image states. */
export interface ModulePlan {
  /** Nodes whose labels match `spec.selector`. */
  matching: string[];
  /** Of those, the ones the Module's pods may run on (tolerations, not cordoned). */
  targets: string[];
  /** The images the targets' kernels need, one entry per distinct image (the MIC's spec). */
  images: ModuleImageSpec[];
  /** The NMC entry each node should have; nodes absent here should have none. */
  entries: Map<string, NodeModuleSpec>;
  /** Nodes whose entry is left as it is (ordered upgrade: the node has not moved yet). */
  keep: Set<string>;
  /**
   * Nodes waiting for their image, with their kernel: an entry they already have for that
   * kernel stays until the new image exists (an entry for another kernel is stale and goes).
   */
  hold: Map<string, string>;
  /** Kernels no mapping matches, with the target nodes running them. */
  noMapping: Map<string, string[]>;
  /** Why the Module cannot be mapped at all (bad regexp, no image …), if so. */
  invalid?: string;
  /** Images that are not (yet) known to exist, with their state and the nodes waiting. */
  waiting: { image: string; kernel: string; state: ImageState | 'Unknown'; nodes: string[] }[];
}

/** The worker config for a node's kernel: upstream's ModuleConfig. */
/**
 * Orders strings by code unit (for the ASCII of object names and timestamps, byte order, as Go's
 * sort.Strings). Not localeCompare: that collates with ICU, which reads its locale data in (about
 * 3 MiB resident) and is slower; for lower-case names and timestamps both give the same order.
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function moduleConfig(m: ResolvedMapping): ModuleConfig {
  const cfg: ModuleConfig = {
    kernelVersion: m.kernelVersion,
    containerImage: m.containerImage,
    imagePullPolicy: m.imagePullPolicy ?? 'IfNotPresent',
    insecurePull: !!(m.registryTLS.insecure || m.registryTLS.insecureSkipTLSVerify),
    modprobe: m.modprobe,
  };
  if (m.inTreeModulesToRemove?.length) cfg.inTreeModulesToRemove = [...m.inTreeModulesToRemove];
  return cfg;
}

/** The service account of the Module's worker pods (SPEC §3.3). */
export function workerServiceAccount(module: Module, sec: SecurityOptions): string {
  const own = module.spec.moduleLoader?.serviceAccountName;
  if (own) return own;
  return module.metadata.namespace === sec.operatorNamespace ? sec.workerServiceAccount : 'default';
}

/** The MIC entry for a resolved mapping (what the image controllers check, build and sign). */
export function imageSpec(m: ResolvedMapping): ModuleImageSpec {
  const spec: ModuleImageSpec = { image: m.containerImage, kernelVersion: m.kernelVersion };
  if (m.build) spec.build = m.build as ModuleImageSpec['build'];
  if (m.sign) spec.sign = m.sign as ModuleImageSpec['sign'];
  if (m.registryTLS.insecure || m.registryTLS.insecureSkipTLSVerify) {
    spec.registryTLS = { ...m.registryTLS };
  }
  if (m.imagePullPolicy) spec.imagePullPolicy = m.imagePullPolicy;
  if (m.modprobe.dirName) spec.dirName = m.modprobe.dirName;
  return spec;
}

/**
 * Decides, for one Module, which nodes get which NMC entry. Pure: the reconciler reads the
 * inputs from caches and writes the differences.
 */
export function planModule(
  module: Module,
  nodes: readonly KmmNode[],
  imageStates: ReadonlyMap<string, ImageState>,
  sec: SecurityOptions,
): ModulePlan {
  const plan: ModulePlan = {
    matching: [],
    targets: [],
    images: [],
    entries: new Map(),
    keep: new Set(),
    hold: new Map(),
    noMapping: new Map(),
    waiting: [],
  };
  const ns = module.metadata.namespace ?? '';
  const name = module.metadata.name ?? '';
  const byKernel = new Map<string, string[]>();
  for (const n of nodes) {
    if (!matchesSelector(n, module.spec.selector)) continue;
    const nodeName = n.metadata.name ?? '';
    plan.matching.push(nodeName);
    if (!isSchedulable(n, module.spec.tolerations)) continue;
    plan.targets.push(nodeName);
    const kernel = nodeKernel(n);
    if (!kernel) continue;
    const list = byKernel.get(kernel) ?? [];
    list.push(nodeName);
    byKernel.set(kernel, list);
  }
  const loader = module.spec.moduleLoader;
  if (!loader) return plan; // in-tree driver: device plugin only
  const version = loader.container.version;
  const versionLabel = versionModuleLabel(ns, name);
  const nodeByName = new Map(nodes.map((n) => [n.metadata.name ?? '', n]));
  const seenImages = new Map<string, ImageState | 'Unknown'>();
  const waiting = new Map<string, ModulePlan['waiting'][number]>();
  for (const [kernel, kernelNodes] of [...byKernel].sort(([a], [b]) => compareStrings(a, b))) {
    const r = resolveKernelMapping(module, kernel);
    if (!r.ok) {
      if (r.error.kind === 'NoMatch') {
        plan.noMapping.set(kernel, kernelNodes);
        continue;
      }
      if (r.error.kind === 'InvalidKernelVersion') {
        plan.noMapping.set(kernel, kernelNodes);
        continue;
      }
      plan.invalid = r.error.message;
      return plan;
    }
    const m = r.value;
    if (!seenImages.has(m.containerImage)) {
      plan.images.push(imageSpec(m));
      seenImages.set(m.containerImage, imageStates.get(m.containerImage) ?? 'Unknown');
    }
    const state = seenImages.get(m.containerImage)!;
    const config = moduleConfig(m);
    for (const nodeName of kernelNodes) {
      // Ordered upgrade: with a version set, a node takes it only once labelled for it.
      if (version && nodeByName.get(nodeName)?.metadata.labels?.[versionLabel] !== version) {
        plan.keep.add(nodeName);
        continue;
      }
      if (state !== 'Exists') {
        // The node waits for the image; what it has for this kernel stays meanwhile.
        const w = waiting.get(m.containerImage) ?? {
          image: m.containerImage,
          kernel,
          state,
          nodes: [],
        };
        w.nodes.push(nodeName);
        waiting.set(m.containerImage, w);
        plan.hold.set(nodeName, kernel);
        continue;
      }
      const entry: NodeModuleSpec = {
        name,
        namespace: ns,
        serviceAccountName: workerServiceAccount(module, sec),
        config,
      };
      if (module.spec.imageRepoSecret?.name)
        entry.imageRepoSecret = { ...module.spec.imageRepoSecret };
      if (module.spec.tolerations?.length) entry.tolerations = module.spec.tolerations;
      if (version) entry.version = version;
      plan.entries.set(nodeName, entry);
    }
  }
  plan.waiting = [...waiting.values()];
  return plan;
}

/** "a, b, c and 4 more": node lists in messages stay readable at any cluster size. */
export function listNames(names: readonly string[], max = 3): string {
  const sorted = [...names].sort();
  if (sorted.length <= max) return sorted.join(', ');
  return `${sorted.slice(0, max).join(', ')} and ${sorted.length - max} more`;
}
