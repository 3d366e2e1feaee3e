/**
 * Upstream program names: a link named `nfd-worker` to bin/hwe runs `hwe nfd worker`, so the
 * commands in existing manifests work as written. The container image has one link per entry.
 * `kubectl-hwe` is the name kubectl looks for when a user types `kubectl hwe …`.
 */
export const PROGRAM_ALIASES: Readonly<Record<string, readonly string[]>> = {
  'nfd-worker': ['nfd', 'worker'],
  'nfd-master': ['nfd', 'master'],
  'nfd-gc': ['nfd', 'gc'],
  'nfd-topology-updater': ['nfd', 'topology-updater'],
  'kmm-worker': ['kmm', 'worker'],
  'kmm-operator': ['kmm', 'operator'],
  'kmm-webhook': ['kmm', 'webhook'],
  'kmm-sign-image': ['kmm', 'sign-image'],
  'kubectl-hwe': [],
  // `oc adm must-gather --image=…` runs `gather` and copies /must-gather back.
  gather: ['must-gather', '--dest-dir', '/must-gather'],
};
