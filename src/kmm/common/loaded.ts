import type { NodeModuleSpec, NodeModuleStatus } from '../../api/index.js';
import { deepEqual } from '../../runtime/index.js';

/** What the node config controller and the Module controller read of a Node. */
export interface NodeView {
  bootID?: string;
  ready: boolean;
  /** The kernel the node runs, as KMM maps it (trailing `+` trimmed). */
  kernelVersion?: string;
}

/** `<namespace>/<name>`: how a Module and its node config entries are keyed. */
export function moduleKey(m: { namespace: string; name: string }): string {
  return `${m.namespace}/${m.name}`;
}

/** A status entry was loaded before the node's last boot: the module is gone from the kernel. */
export function rebooted(s: NodeModuleStatus, node: NodeView): boolean {
  return node.ready && !!s.bootId && !!node.bootID && s.bootId !== node.bootID;
}

/** The spec entry is loaded, with exactly its config, in the current boot. */
export function isLoaded(
  spec: NodeModuleSpec,
  status: NodeModuleStatus | undefined,
  node: NodeView,
): boolean {
  return !!status && deepEqual(status.config, spec.config) && !rebooted(status, node);
}
