import type { KubeObject } from '../../runtime/index.js';

/** A KMM worker pod: the fields we write and the ones we read back. */
export interface WorkerPod extends KubeObject {
  spec: Record<string, unknown> & { nodeName: string };
  status?: {
    phase?: string;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
    message?: string;
    reason?: string;
  };
}

interface ContainerStatus {
  name: string;
  state?: { terminated?: { exitCode?: number; message?: string; reason?: string } };
}

function slimStatus(c: ContainerStatus): ContainerStatus {
  const t = c.state?.terminated;
  return t
    ? {
        name: c.name,
        state: { terminated: { exitCode: t.exitCode, message: t.message, reason: t.reason } },
      }
    : { name: c.name };
}

/**
 * What the KMM controllers read of a worker pod, for the cache: its metadata (labels, the
 * config annotation, owner, deletion), the node it runs on, its phase and the outcome of its
 * containers. The pod spec (containers, volumes, tolerations) and the rest of the status are
 * written by us or the kubelet and never read back; a worker pod's cached size drops to a
 * fraction of what the apiserver sends.
 */
export function trimWorkerPod(p: WorkerPod): WorkerPod {
  const st = p.status;
  return {
    apiVersion: p.apiVersion,
    kind: p.kind,
    metadata: p.metadata,
    spec: { nodeName: p.spec?.nodeName },
    status: st
      ? {
          phase: st.phase,
          message: st.message,
          reason: st.reason,
          initContainerStatuses: st.initContainerStatuses?.map(slimStatus),
          containerStatuses: st.containerStatuses?.map(slimStatus),
        }
      : undefined,
  };
}
