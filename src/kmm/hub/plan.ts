/**
 * The KMM hub's decisions, pure: which managed clusters a ManagedClusterModule selects, which
 * kernels they run, which images the hub must have for them, the trimmed Module each cluster
 * gets in its ManifestWork, and the counts of the status. The controller reads the inputs from
 * caches and writes what these functions return.
 */
import {
  KMM_GROUP,
  KMM_VERSION,
  type KernelMapping,
  type ManagedClusterModule,
  type ManagedClusterModuleStatus,
  type Module,
  type ModuleImageSpec,
  type ModuleImagesConfigSpec,
} from '../../api/index.js';
import { formatReference, parseReference } from '../../oci/index.js';
import type { Condition, KubeObject } from '../../runtime/index.js';
import { resolveKernelMapping, type ResolvedMapping } from '../kernelmapping/index.js';
import { imageSpec } from '../module/desired.js';
import {
  KERNEL_VERSIONS_CLAIM,
  LABEL_CLUSTER,
  LABEL_MCM,
  WORK_APPLIED,
  WORK_DEGRADED,
} from './constants.js';

/** cluster.open-cluster-management.io/v1 ManagedCluster: the fields the hub reads. */
export interface ManagedCluster extends KubeObject {
  status?: { clusterClaims?: { name: string; value: string }[] };
}

/** work.open-cluster-management.io/v1 ManifestWork: the fields the hub writes and reads. */
export interface ManifestWork extends KubeObject {
  spec: { workload: { manifests: Record<string, unknown>[] } };
  status?: { conditions?: Condition[] };
}

/** cluster.open-cluster-management.io/v1alpha1 ClusterClaim. */
export interface ClusterClaim extends KubeObject {
  spec: { value: string };
}

/** The clusters an MCM selects: every label of `spec.selector` matches; none being deleted. */
export function selectedClusters(
  mcm: ManagedClusterModule,
  clusters: readonly ManagedCluster[],
): ManagedCluster[] {
  const sel = Object.entries(mcm.spec.selector ?? {});
  return clusters
    .filter((c) => !c.metadata.deletionTimestamp)
    .filter((c) => sel.every(([k, v]) => c.metadata.labels?.[k] === v))
    .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
}

/**
 * The kernels a managed cluster runs, from the ClusterClaim its spoke publishes (copied into the
 * ManagedCluster's status by OCM's registration agent); undefined while it has none.
 */
export function clusterKernels(cluster: ManagedCluster): string[] | undefined {
  const claim = cluster.status?.clusterClaims?.find((c) => c.name === KERNEL_VERSIONS_CLAIM);
  if (!claim) return undefined;
  return kernelClaimValue(claim.value.split('\n')).split('\n').filter(Boolean);
}

/** The claim's value for a set of kernels: distinct, sorted, one a line (as upstream). */
export function kernelClaimValue(kernels: Iterable<string>): string {
  return [...new Set([...kernels].map((k) => k.trim()).filter(Boolean))].sort().join('\n');
}

/** The hub's ModuleImagesConfig for one MCM and cluster (upstream's `<mcm>-<cluster>`). */
export function hubMicName(mcm: string, cluster: string): string {
  return `${mcm}-${cluster}`;
}

/** The Module as the kernel mapper sees it: named after the MCM, in the spoke namespace. */
function asModule(mcm: ManagedClusterModule) {
  return {
    metadata: { name: mcm.metadata.name!, namespace: mcm.spec.spokeNamespace },
    spec: mcm.spec.moduleSpec,
  };
}

export interface ClusterPlan {
  /** Per kernel the cluster runs and a mapping serves, sorted by kernel. */
  mappings: ResolvedMapping[];
  /** Kernels no mapping matches (or that are no kernel version). */
  noMapping: string[];
  /** moduleSpec cannot be mapped at all: the message names the field. */
  invalid?: string;
  /** The images the hub must have (one per distinct image), as a MIC lists them. */
  images: ModuleImageSpec[];
}

/** Maps each kernel of a cluster with the MCM's moduleSpec. */
export function planCluster(mcm: ManagedClusterModule, kernels: readonly string[]): ClusterPlan {
  const plan: ClusterPlan = { mappings: [], noMapping: [], images: [] };
  if (!mcm.spec.moduleSpec.moduleLoader) return plan; // device plugin only: nothing to build
  const module = asModule(mcm);
  const seen = new Set<string>();
  for (const kernel of [...kernels].sort()) {
    const r = resolveKernelMapping(module, kernel);
    if (!r.ok) {
      if (r.error.kind === 'NoMatch' || r.error.kind === 'InvalidKernelVersion') {
        plan.noMapping.push(kernel);
        continue;
      }
      return {
        mappings: [],
        noMapping: [],
        images: [],
        invalid: `spec.moduleSpec: ${r.error.message}`,
      };
    }
    plan.mappings.push(r.value);
    if (!seen.has(r.value.containerImage)) {
      seen.add(r.value.containerImage);
      plan.images.push(imageSpec(r.value));
    }
  }
  return plan;
}

/** The spec of the hub's MIC for one cluster: the images, and how to reach them. */
export function hubMicSpec(mcm: ManagedClusterModule, plan: ClusterPlan): ModuleImagesConfigSpec {
  const m = mcm.spec.moduleSpec;
  const pullPolicy = m.moduleLoader?.container.imagePullPolicy;
  return {
    images: plan.images,
    ...(m.imageRepoSecret ? { imageRepoSecret: { ...m.imageRepoSecret } } : {}),
    ...(pullPolicy ? { imagePullPolicy: pullPolicy } : {}),
    pushBuiltImage: true,
    ...(m.imageRebuildTriggerGeneration !== undefined
      ? { imageRebuildTriggerGeneration: m.imageRebuildTriggerGeneration }
      : {}),
  };
}

/** `image` pinned to `digest` (`registry/repo@sha256:…`); an image given by digest stays. */
export function pinnedImage(image: string, digest: string): string {
  const ref = parseReference(image);
  if (ref.digest) return image;
  return formatReference({ registry: ref.registry, repository: ref.repository, digest });
}

/**
 * The Module a spoke gets: moduleSpec with `build` and `sign` removed everywhere, and one
 * literal kernel mapping per kernel the cluster runs, its image pinned by digest (`digests`:
 * image → digest; an image without one, pulled `Never`, stays as written). Everything else of the mapping that served the kernel is kept.
 */
export function trimmedModule(
  mcm: ManagedClusterModule,
  plan: ClusterPlan,
  digests: ReadonlyMap<string, string>,
): Module {
  const spec = structuredClone(mcm.spec.moduleSpec);
  const loader = spec.moduleLoader;
  if (loader) {
    const original = mcm.spec.moduleSpec.moduleLoader!.container.kernelMappings;
    const c = loader.container;
    delete c.build;
    delete c.sign;
    delete c.containerImage;
    c.kernelMappings = plan.mappings.map((m) => {
      const km: KernelMapping = structuredClone(original[m.mappingIndex]!);
      delete km.build;
      delete km.sign;
      delete km.regexp;
      km.literal = m.kernelVersion;
      const digest = digests.get(m.containerImage);
      km.containerImage = digest ? pinnedImage(m.containerImage, digest) : m.containerImage;
      return km;
    });
  }
  return {
    apiVersion: `${KMM_GROUP}/${KMM_VERSION}`,
    kind: 'Module',
    metadata: { name: mcm.metadata.name!, namespace: mcm.spec.spokeNamespace },
    spec,
  };
}

/** The ManifestWork `<mcm>` in the cluster's namespace that carries the trimmed Module. */
export function manifestWork(
  mcm: ManagedClusterModule,
  cluster: string,
  module: Module,
): ManifestWork {
  return {
    apiVersion: 'work.open-cluster-management.io/v1',
    kind: 'ManifestWork',
    metadata: {
      name: mcm.metadata.name!,
      namespace: cluster,
      labels: { [LABEL_MCM]: mcm.metadata.name!, [LABEL_CLUSTER]: cluster },
    },
    spec: { workload: { manifests: [module] } },
  };
}

const isTrue = (w: ManifestWork, type: string) =>
  w.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

/** The MCM's counts: clusters selected, and of their ManifestWorks those applied and degraded. */
export function mcmStatus(
  selected: readonly string[],
  works: readonly ManifestWork[],
): Required<ManagedClusterModuleStatus> {
  const mine = new Set(selected);
  const ws = works.filter((w) => mine.has(w.metadata.namespace!));
  return {
    numberDesired: selected.length,
    numberApplied: ws.filter((w) => isTrue(w, WORK_APPLIED)).length,
    numberDegraded: ws.filter((w) => isTrue(w, WORK_DEGRADED)).length,
  };
}
