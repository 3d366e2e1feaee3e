import type { Command } from '../../cli/command.js';
import { CONFIG_KEY, CONFIG_MAP_NAME } from './config.js';
import { METRICS_CERT_DIR_FLAG } from '../../cli/metrics-flags.js';

export const operatorCommand: Command = {
  name: 'operator',
  summary: 'run the KMM operator: Module and node config controllers, worker pods, device plugins',
  description:
    'Runs the Kernel Module Management controllers against a cluster (--kubeconfig, KUBECONFIG\n' +
    'or the in-cluster service account). The config (upstream controller_config.yaml format)\n' +
    `comes from --config FILE, else ConfigMap ${CONFIG_MAP_NAME} (key ${CONFIG_KEY}) in the\n` +
    "operator's namespace, which is created with the defaults when missing and never\n" +
    'overwritten. With KMM_MANAGED=1 (a spoke of KMM-Hub) images are only checked, never\n' +
    "built or signed, and the nodes' kernels are published as ClusterClaim\n" +
    'kernel-versions.kmm.node.kubernetes.io. Exit status: 0 stopped; 2 invalid flags or config.',
  flags: [
    { name: 'kubeconfig', type: 'string', placeholder: 'FILE', help: 'kubeconfig file' },
    { name: 'config', type: 'string', placeholder: 'FILE', help: 'operator config file' },
    {
      name: 'namespace',
      type: 'string',
      placeholder: 'NS',
      help: "the operator's (trusted) namespace (default $OPERATOR_NAMESPACE or openshift-kmm)",
    },
    {
      name: 'worker-image',
      type: 'string',
      placeholder: 'IMAGE',
      help: 'image of worker pods (default $RELATED_IMAGE_WORKER)',
    },
    {
      name: 'sign-image',
      type: 'string',
      placeholder: 'IMAGE',
      help: 'image of signing pods (default $RELATED_IMAGE_SIGN, else the worker image)',
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
      help: 'overrides healthProbeBindAddress of the config',
    },
    {
      name: 'metrics-bind-address',
      type: 'string',
      placeholder: 'ADDR',
      help: 'overrides metrics.bindAddress of the config ("0": no metrics)',
    },
    {
      name: 'metrics-secure',
      type: 'boolean',
      help: 'overrides metrics.secureServing of the config (HTTPS; TokenReview and SubjectAccessReview as metrics.enableAuthnAuthz says)',
    },
    METRICS_CERT_DIR_FLAG,
  ],
  // The controllers load on use, so that registering this command costs other commands nothing.
  run: async (ctx) => (await import('./run.js')).run(ctx),
};
