import type { Command } from '../../cli/command.js';

export const hubCommand: Command = {
  name: 'hub',
  summary: 'run KMM-Hub: ManagedClusterModule → images built and signed on the hub → ManifestWork',
  description:
    'Runs the KMM-Hub operator on an Open Cluster Management hub (--kubeconfig, KUBECONFIG or\n' +
    'the in-cluster service account). For every ManagedClusterModule it reads the kernels of\n' +
    'the selected ManagedClusters (ClusterClaim kernel-versions.kmm.node.kubernetes.io, which\n' +
    'spokes publish with KMM_MANAGED=1), builds and signs the missing images in its namespace,\n' +
    'and writes a ManifestWork with the Module (build and sign removed, images pinned by\n' +
    "digest) into each selected cluster's namespace. Exit status: 0 stopped; 2 invalid flags.",
  flags: [
    { name: 'kubeconfig', type: 'string', placeholder: 'FILE', help: 'kubeconfig file' },
    {
      name: 'namespace',
      type: 'string',
      placeholder: 'NS',
      help: "the hub operator's namespace (default $OPERATOR_NAMESPACE or openshift-kmm-hub)",
    },
    {
      name: 'sign-image',
      type: 'string',
      placeholder: 'IMAGE',
      help: 'image of signing pods (default $RELATED_IMAGE_SIGN)',
    },
    {
      name: 'build-image',
      type: 'string',
      placeholder: 'IMAGE',
      help: 'kaniko image of build pods (default $RELATED_IMAGE_BUILD)',
    },
    {
      name: 'health-probe-bind-address',
      type: 'string',
      placeholder: 'ADDR',
      help: 'health probes (default :8081)',
    },
    {
      name: 'metrics-bind-address',
      type: 'string',
      placeholder: 'ADDR',
      help: 'metrics (default 127.0.0.1:8080)',
    },
    {
      name: 'leader-elect',
      type: 'boolean',
      help: 'take the Lease kmm-hub.sigs.x-k8s.io in the namespace before running',
    },
  ],
  run: async (ctx) => (await import('./run.js')).run(ctx),
};
