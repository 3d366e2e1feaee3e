/**
 * Open Cluster Management for the hub tests: OCM's own CRDs (from the Go modules OCM publishes,
 * fetched by tools/ocm-crds/fetch.sh), and a stand-in for OCM's two agents on a spoke.
 *
 * The stand-in does what the agents do for KMM, and nothing else:
 * - work agent: applies the manifests of every ManifestWork in the cluster's namespace on the
 *   hub to the spoke (server-side apply), writes back the work's `Applied` and `Available`
 *   conditions, and when the ManifestWork is deleted deletes what it applied, waits until it is
 *   gone, then lets the ManifestWork go (finalizer `cluster.open-cluster-management.io/manifest-work-cleanup`);
 * - registration agent: copies the spoke's ClusterClaims into `status.clusterClaims` of the
 *   ManagedCluster on the hub.
 * OCM's real agents are not used: their Go module pulls about 170 other modules (AWS SDK,
 * Helm, controller-runtime, cloudevents), too long a build for setup (src/kmm/hub/README.md),
 * and the registration agent needs OCM's hub controllers and a certificate signing and
 * approval flow to join a cluster.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  ClusterClaims,
  ManagedClusters,
  ManifestWorks,
  installCrdObjects,
  type CustomResourceDefinition,
} from '../../src/api/index.js';
import type { ClusterClaim, ManagedCluster, ManifestWork } from '../../src/kmm/hub/index.js';
import {
  ResourceClient,
  isKubeError,
  resourceType,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from '../../src/runtime/index.js';
import { PACKAGE_ROOT } from '../../src/version.js';

/** The directory holding OCM's CRD manifests (fetched and cached on first use). */
function ocmCrdDir(): string {
  const script = join(PACKAGE_ROOT, 'tools', 'ocm-crds', 'fetch.sh');
  return execFileSync('bash', [script], { encoding: 'utf8' }).trim().split('\n').pop()!;
}

/** Installs OCM's CRDs whose names match `filter` (e.g. /managedclusters|manifestworks/). */
export async function installOcmCrds(client: KubeClient, filter: RegExp): Promise<string[]> {
  const dir = ocmCrdDir();
  const crds = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map(
        (d) => d.toJS() as { kind?: string } | null,
      ),
    )
    .filter((o): o is CustomResourceDefinition => o?.kind === 'CustomResourceDefinition')
    .filter((c) => filter.test(c.metadata.name));
  await installCrdObjects(client, crds);
  return crds.map((c) => c.metadata.name);
}

const WORK_FINALIZER = 'cluster.open-cluster-management.io/manifest-work-cleanup';
const Works = ManifestWorks as ResourceType<ManifestWork>;
const Clusters = ManagedClusters as ResourceType<ManagedCluster>;
const Claims = ClusterClaims as ResourceType<ClusterClaim>;

export interface AgentStandIn {
  /**
   * The error of each step's last run, if it failed (a step that fails is run again, as the
   * agents retry: right after CRDs are installed the apiserver may still be initializing).
   */
  errors(): string[];
  stop(): Promise<void>;
}

/** Starts the stand-in for the spoke `cluster` between `hub` and `spoke`; polls every 300 ms. */
export function startAgentStandIn(
  hub: KubeClient,
  spoke: KubeClient,
  cluster: string,
): AgentStandIn {
  const works = new ResourceClient<ManifestWork>(hub, Works, 'work-agent');
  const clusters = new ResourceClient<ManagedCluster>(hub, Clusters, 'registration-agent');
  const claims = new ResourceClient<ClusterClaim>(spoke, Claims, 'registration-agent');
  const lastErrors = new Map<string, string>();
  const types = new Map<string, ResourceType>();

  /** The REST coordinates of a manifest's kind on the spoke, from discovery. */
  async function typeOf(o: KubeObject): Promise<ResourceType> {
    const key = `${o.apiVersion}/${o.kind}`;
    const known = types.get(key);
    if (known) return known;
    const path = o.apiVersion!.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    const list = await spoke.request<{
      resources: { name: string; kind: string; namespaced: boolean }[];
    }>(path);
    const r = list.resources.find((x) => x.kind === o.kind && !x.name.includes('/'));
    if (!r) throw new Error(`the spoke serves no ${key}`);
    const [group, version] = o.apiVersion!.includes('/')
      ? o.apiVersion!.split('/')
      : ['', o.apiVersion!];
    const t = resourceType({
      group: group!,
      version: version!,
      kind: o.kind!,
      plural: r.name,
      namespaced: r.namespaced,
    });
    types.set(key, t);
    return t;
  }

  async function syncWorks() {
    for (const w of (await works.list({ namespace: cluster })).items) {
      const manifests = w.spec.workload.manifests as unknown as KubeObject[];
      if (w.metadata.deletionTimestamp) {
        let remaining = 0;
        for (const m of manifests) {
          const api = new ResourceClient(spoke, await typeOf(m), 'work-agent');
          await api.deleteIfExists(m.metadata.name!, { namespace: m.metadata.namespace });
          if (await api.find(m.metadata.name!, m.metadata.namespace)) remaining++;
        }
        if (remaining === 0) {
          const finalizers = (w.metadata.finalizers ?? []).filter((f) => f !== WORK_FINALIZER);
          await works.patch(w.metadata.name!, { metadata: { finalizers } }, { namespace: cluster });
        }
        continue;
      }
      if (!w.metadata.finalizers?.includes(WORK_FINALIZER)) {
        await works.patch(
          w.metadata.name!,
          { metadata: { finalizers: [...(w.metadata.finalizers ?? []), WORK_FINALIZER] } },
          { namespace: cluster },
        );
      }
      for (const m of manifests) {
        const api = new ResourceClient(spoke, await typeOf(m), 'work-agent');
        await api.apply(m, { force: true });
      }
      const now = new Date().toISOString();
      const gen = w.metadata.generation;
      const conditions = [
        {
          type: 'Applied',
          reason: 'AppliedManifestWorkComplete',
          message: 'Apply manifest work complete',
        },
        { type: 'Available', reason: 'ResourcesAvailable', message: 'All resources are available' },
      ].map((c) => ({ ...c, status: 'True', lastTransitionTime: now, observedGeneration: gen }));
      const cur = w.status?.conditions ?? [];
      const same = conditions.every((c) =>
        cur.some((x) => x.type === c.type && x.status === 'True' && x.observedGeneration === gen),
      );
      if (!same)
        await works.patchStatus(
          w.metadata.name!,
          { status: { conditions } },
          { namespace: cluster },
        );
    }
  }

  async function syncClaims() {
    const clusterClaims = (await claims.list()).items
      .map((c) => ({ name: c.metadata.name!, value: c.spec.value }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const mc = await clusters.find(cluster);
    if (!mc) return;
    if (JSON.stringify(mc.status?.clusterClaims ?? []) !== JSON.stringify(clusterClaims)) {
      await clusters.patchStatus(cluster, { status: { clusterClaims } });
    }
  }

  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const step of [syncWorks, syncClaims]) {
        try {
          await step();
          lastErrors.delete(step.name);
        } catch (e) {
          if (!isKubeError(e, 'Conflict')) lastErrors.set(step.name, String(e));
        }
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    errors: () => [...lastErrors.values()],
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
