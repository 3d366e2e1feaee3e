/**
 * Minimal definitions, written by us, of other projects' APIs that hwe talks to: OpenShift
 * builds, image streams, cluster version and SCCs. They exist so that the OpenShift code paths
 * can be tested against a plain kube-apiserver. They check nothing beyond apiVersion/kind/metadata
 * and are never part of an installation: on a real cluster those APIs come from their owners.
 *
 * Open Cluster Management's ManifestWork, ManagedCluster and ClusterClaim are defined here only
 * for their API coordinates: tests install OCM's own CRDs, from the Go module OCM publishes them
 * in (tools/ocm-crds), so they are not in FOREIGN_RESOURCES.
 */
import { objectSchema, type ResourceDef } from './resource.js';
import { opt, preserved } from './schema.js';

const TEST_ONLY = 'Test-only stand-in defined by hwe; the real API belongs to its own project.';

const specStatus = objectSchema(
  {
    spec: opt(preserved({ description: 'Kept as given.' })),
    status: opt(preserved({ description: 'Kept as given.' })),
  },
  TEST_ONLY,
);

/** For a kind whose fields sit at the top level rather than under spec (SCC). */
const topLevel = {
  ...specStatus,
  'x-kubernetes-preserve-unknown-fields': true,
} as typeof specStatus;

function foreign(
  group: string,
  version: string,
  kind: string,
  plural: string,
  scope: 'Namespaced' | 'Cluster',
  opts: { shortNames?: string[]; status?: boolean; topLevelFields?: boolean } = {},
): ResourceDef {
  return {
    group,
    kind,
    plural,
    scope,
    foreign: true,
    status: opts.status ?? true,
    ...(opts.shortNames ? { shortNames: opts.shortNames } : {}),
    versions: [
      { name: version, storage: true, schema: opts.topLevelFields ? topLevel : specStatus },
    ],
  };
}

export const BuildResource = foreign('build.openshift.io', 'v1', 'Build', 'builds', 'Namespaced');
export const BuildConfigResource = foreign(
  'build.openshift.io',
  'v1',
  'BuildConfig',
  'buildconfigs',
  'Namespaced',
  { shortNames: ['bc'] },
);
export const ImageStreamResource = foreign(
  'image.openshift.io',
  'v1',
  'ImageStream',
  'imagestreams',
  'Namespaced',
  { shortNames: ['is'] },
);
export const ClusterVersionResource = foreign(
  'config.openshift.io',
  'v1',
  'ClusterVersion',
  'clusterversions',
  'Cluster',
);
export const SecurityContextConstraintsResource = foreign(
  'security.openshift.io',
  'v1',
  'SecurityContextConstraints',
  'securitycontextconstraints',
  'Cluster',
  { shortNames: ['scc'], status: false, topLevelFields: true },
);
export const ManifestWorkResource = foreign(
  'work.open-cluster-management.io',
  'v1',
  'ManifestWork',
  'manifestworks',
  'Namespaced',
  { shortNames: ['mw'] },
);
export const ManagedClusterResource = foreign(
  'cluster.open-cluster-management.io',
  'v1',
  'ManagedCluster',
  'managedclusters',
  'Cluster',
  { shortNames: ['mcl', 'mcls'] },
);
export const ClusterClaimResource = foreign(
  'cluster.open-cluster-management.io',
  'v1alpha1',
  'ClusterClaim',
  'clusterclaims',
  'Cluster',
  { status: false },
);

export const FOREIGN_RESOURCES: readonly ResourceDef[] = [
  BuildResource,
  BuildConfigResource,
  ImageStreamResource,
  ClusterVersionResource,
  SecurityContextConstraintsResource,
];
