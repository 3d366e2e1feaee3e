import {
  Modules,
  NodeModulesConfigs,
  type Module,
  type NodeModulesConfig,
} from '../../api/index.js';
import {
  Nodes,
  Pods,
  indexers,
  nodeChangedBeyondHeartbeat,
  type Informer,
  type Manager,
  type Predicate,
  type ResourceType,
} from '../../runtime/index.js';
import { WORKER_LABELS } from './labels.js';
import { trimNode, type KmmNode } from './nodes.js';
import { trimWorkerPod, type WorkerPod } from './worker-pod.js';

/** Nodes and worker pods with the fields the KMM controllers read. */
export const KmmNodes = Nodes as ResourceType<KmmNode>;
export const WorkerPods = Pods as ResourceType<WorkerPod>;

/** Node heartbeats (status-only refreshes) never wake the KMM controllers (KMM 2.4). */
export const nodeHeartbeatFilter = nodeChangedBeyondHeartbeat as Predicate<KmmNode>;

/** Selects the KMM worker pods. */
export const WORKER_SELECTOR = `${WORKER_LABELS.role}=worker`;

/** The shared informers the KMM controllers read; requested identically by each. */
export function kmmInformers(mgr: Manager): {
  nodes: Informer<KmmNode>;
  nmcs: Informer<NodeModulesConfig>;
  pods: Informer<WorkerPod>;
  modules: Informer<Module>;
} {
  return {
    nodes: mgr.informers.informer(KmmNodes, { transform: trimNode }),
    nmcs: mgr.informers.informer(NodeModulesConfigs),
    pods: mgr.informers.informer(WorkerPods, {
      labelSelector: WORKER_SELECTOR,
      transform: trimWorkerPod,
      indexers: { byNodeName: indexers.byNodeName },
    }),
    modules: mgr.informers.informer(Modules),
  };
}
