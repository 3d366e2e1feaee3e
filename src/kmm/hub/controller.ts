/**
 * The ManagedClusterModule controller of KMM-Hub. Per MCM: the selected ManagedClusters and the
 * kernels they publish; a ModuleImagesConfig per cluster in the hub's namespace, which the image
 * controllers check, build and sign; once every image of a cluster exists, a ManifestWork `<mcm>`
 * in the cluster's namespace with the trimmed, digest-pinned Module; ManifestWorks and MICs of
 * clusters no longer selected deleted; the counts in the MCM's status. Decisions are in plan.ts.
 */
import {
  KMM_HUB_GROUP,
  KMM_HUB_VERSION,
  ManagedClusterModules,
  ManagedClusters,
  ManifestWorks,
  ModuleImagesConfigs,
  type ManagedClusterModule,
  type ModuleImagesConfig,
} from '../../api/index.js';
import { imageExists, openImage, type SecretLike } from '../../oci/index.js';
import {
  createOrPatch,
  EventRecorder,
  generationChanged,
  Secrets,
  setControllerReference,
  type KubeObject,
  type Manager,
  type Predicate,
  type ResourceType,
} from '../../runtime/index.js';
import { LABEL_MODULE_NAME, labelValue } from '../build/index.js';
import { LABEL_CLUSTER, LABEL_MCM, REASONS } from './constants.js';
import {
  clusterKernels,
  hubMicName,
  hubMicSpec,
  manifestWork,
  mcmStatus,
  planCluster,
  selectedClusters,
  trimmedModule,
  type ManagedCluster,
  type ManifestWork,
} from './plan.js';

export interface HubOptions {
  /** The hub operator's namespace: its ModuleImagesConfigs, build and sign pods, pull secrets. */
  namespace: string;
  /** Deadline of one registry request (ms) [30 s]. */
  registryTimeoutMs?: number;
  /** How soon to try again when a digest could not be read (ms) [30 s]. */
  retryMs?: number;
  events?: EventRecorder;
}

const Clusters = ManagedClusters as ResourceType<ManagedCluster>;
const Works = ManifestWorks as ResourceType<ManifestWork>;
type SecretObject = KubeObject & SecretLike;

/** ManagedCluster updates that matter here: labels, claims, deletion (not lease heartbeats). */
const clusterChanged: Predicate<ManagedCluster> = {
  update: (a, b) =>
    JSON.stringify(a.metadata.labels ?? {}) !== JSON.stringify(b.metadata.labels ?? {}) ||
    JSON.stringify(a.status?.clusterClaims ?? []) !==
      JSON.stringify(b.status?.clusterClaims ?? []) ||
    a.metadata.deletionTimestamp !== b.metadata.deletionTimestamp,
};

/** Registers the ManagedClusterModule controller on a manager. */
export function setupHubController(mgr: Manager, o: HubOptions): void {
  const events = o.events ?? new EventRecorder(mgr.client, { component: 'kmm-hub' }, mgr.log);
  const retryMs = o.retryMs ?? 30_000;
  const micRequest = { namespace: o.namespace, labelSelector: LABEL_MCM };
  const workRequest = { labelSelector: LABEL_MCM };
  const mcms = mgr.informers.informer(ManagedClusterModules);
  const clusters = mgr.informers.informer(Clusters);
  const mics = mgr.informers.informer(ModuleImagesConfigs, micRequest);
  const works = mgr.informers.informer(Works, workRequest);
  const mcmApi = mgr.api(ManagedClusterModules);
  const micApi = mgr.api(ModuleImagesConfigs);
  const workApi = mgr.api(Works);
  const secretApi = mgr.api<SecretObject>(Secrets);
  const allMcms = () => mcms.list().map((m) => ({ name: m.metadata.name! }));

  /**
   * The digest of each image, read from the registry as the spokes' nodes will pull it.
   * `known`: digests read earlier in the same reconcile (clusters on the same kernels share
   * images), so one image is asked for once.
   */
  async function digestsOf(
    mic: ModuleImagesConfig,
    known: Map<string, string>,
  ): Promise<{ digests: Map<string, string>; problems: string[] }> {
    const digests = new Map<string, string>();
    const problems: string[] = [];
    const secretName = mic.spec.imageRepoSecret?.name;
    const secret = secretName ? await secretApi.find(secretName, o.namespace) : undefined;
    for (const spec of mic.spec.images ?? []) {
      // Nodes that never pull use what they have: there is no digest to pin.
      if ((spec.imagePullPolicy ?? mic.spec.imagePullPolicy) === 'Never') continue;
      const seen = known.get(spec.image);
      if (seen) {
        digests.set(spec.image, seen);
        continue;
      }
      const { ref, client } = openImage(spec.image, {
        ...(spec.registryTLS ? { tls: spec.registryTLS } : {}),
        pullSecrets: secret ? [secret] : [],
        timeoutMs: o.registryTimeoutMs ?? 30_000,
      });
      try {
        const r = await imageExists(client, ref);
        if (r.state === 'Exists') {
          digests.set(spec.image, r.digest);
          known.set(spec.image, r.digest);
        } else problems.push(`image ${spec.image}: ${r.error.message}`);
      } finally {
        client.close();
      }
    }
    return { digests, problems };
  }

  mgr
    .controller('kmm-hub')
    // Its own status writes change nothing it reads.
    .for(ManagedClusterModules, { predicates: [generationChanged] })
    .owns(ModuleImagesConfigs, { informer: micRequest })
    .owns(Works, { informer: workRequest })
    .watches(Clusters, allMcms, { predicates: [clusterChanged] })
    .complete(async (req, { log }) => {
      const found = mcms.getByName(req.name);
      if (!found || found.metadata.deletionTimestamp) return; // owned objects go with it
      const mcm: ManagedClusterModule = {
        ...found,
        apiVersion: `${KMM_HUB_GROUP}/${KMM_HUB_VERSION}`,
        kind: 'ManagedClusterModule',
      };
      const name = mcm.metadata.name!;
      const selected = selectedClusters(mcm, clusters.list()).map((c) => ({
        name: c.metadata.name!,
        kernels: clusterKernels(c),
      }));
      let retry = false;
      const known = new Map<string, string>();

      for (const c of selected) {
        if (!c.kernels) {
          void events.event(
            mcm,
            'Normal',
            REASONS.KernelsUnknown,
            `cluster ${c.name} has not published ClusterClaim kernel-versions.kmm.node.kubernetes.io yet: is KMM running there with KMM_MANAGED=1?`,
          );
          continue;
        }
        const plan = planCluster(mcm, c.kernels);
        if (plan.invalid) {
          void events.event(mcm, 'Warning', REASONS.InvalidModule, plan.invalid);
          continue;
        }
        if (plan.noMapping.length) {
          void events.event(
            mcm,
            'Warning',
            REASONS.NoKernelMapping,
            `cluster ${c.name}: no kernel mapping for ${plan.noMapping.join(', ')}; add one to spec.moduleSpec.moduleLoader.container.kernelMappings`,
          );
        }
        const micName = hubMicName(name, c.name);
        const { object: mic } = await createOrPatch(
          micApi,
          { metadata: { name: micName, namespace: o.namespace }, spec: { images: [] } },
          (m: ModuleImagesConfig) => {
            m.metadata.labels = {
              ...m.metadata.labels,
              [LABEL_MCM]: labelValue(name),
              [LABEL_CLUSTER]: labelValue(c.name),
              [LABEL_MODULE_NAME]: labelValue(name),
            };
            m.spec = hubMicSpec(mcm, plan);
            setControllerReference(m, mcm);
          },
        );
        // The image controllers report in the MIC's status; its changes bring us back here.
        const states = new Map(
          (mics.getByName(micName, o.namespace)?.status?.imagesStates ?? []).map((s) => [
            s.image,
            s.status,
          ]),
        );
        if (!plan.images.every((i) => states.get(i.image) === 'Exists')) continue;
        const { digests, problems } = await digestsOf(mic, known);
        if (problems.length) {
          for (const p of problems) {
            log.warn('digest unknown', { cluster: c.name, problem: p });
            void events.event(mcm, 'Warning', REASONS.DigestUnknown, `cluster ${c.name}: ${p}`);
          }
          retry = true;
          continue;
        }
        const want = manifestWork(mcm, c.name, trimmedModule(mcm, plan, digests));
        const { result } = await createOrPatch(workApi, want, (w) => {
          w.metadata.labels = { ...w.metadata.labels, ...want.metadata.labels };
          w.spec = want.spec;
          setControllerReference(w, mcm);
        });
        if (result !== 'unchanged') {
          void events.event(
            mcm,
            'Normal',
            REASONS.ManifestWorkApplied,
            `ManifestWork ${c.name}/${name} ${result} for kernels ${c.kernels.join(', ')}`,
          );
        }
      }

      // Clusters no longer selected lose their ManifestWork (OCM's work agent then deletes the
      // Module there) and the hub's MIC for them.
      const keep = new Set(selected.map((c) => c.name));
      const mine = (x: KubeObject) => x.metadata.labels?.[LABEL_MCM] === labelValue(name);
      for (const w of works.list().filter(mine)) {
        if (keep.has(w.metadata.namespace!) || w.metadata.deletionTimestamp) continue;
        if (await workApi.deleteIfExists(name, { namespace: w.metadata.namespace! })) {
          void events.event(
            mcm,
            'Normal',
            REASONS.ManifestWorkDeleted,
            `cluster ${w.metadata.namespace} is no longer selected: ManifestWork ${w.metadata.namespace}/${name} deleted`,
          );
        }
      }
      for (const m of mics.list().filter(mine)) {
        const cluster = m.metadata.labels?.[LABEL_CLUSTER] ?? '';
        if (![...keep].some((k) => labelValue(k) === cluster)) {
          await micApi.deleteIfExists(m.metadata.name!, { namespace: o.namespace });
        }
      }

      const status = mcmStatus(
        selected.map((c) => c.name),
        works.list().filter((w) => mine(w) && w.metadata.name === name),
      );
      const cur = found.status ?? {};
      if (
        cur.numberDesired !== status.numberDesired ||
        cur.numberApplied !== status.numberApplied ||
        cur.numberDegraded !== status.numberDegraded
      ) {
        await mcmApi.patchStatus(name, { status });
      }
      return retry ? { requeueAfter: retryMs } : undefined;
    });
}
