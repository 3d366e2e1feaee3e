import type { KubeClient } from '../runtime/client.js';
import { isKubeError } from '../runtime/client.js';
import { HWE_RESOURCES } from './catalog.js';
import {
  customResourceDefinition,
  type CustomResourceDefinition,
  type ResourceDef,
} from './resource.js';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

export interface InstallOptions {
  /** How long to wait for every CRD to be Established (ms). */
  timeoutMs?: number;
}

interface CrdStatus {
  metadata: { resourceVersion?: string };
  status?: {
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

/**
 * Creates or updates the CRDs of the given resources (hwe's own by default; tests of the
 * OpenShift paths pass ALL_RESOURCES to get the foreign stand-ins too) and waits until
 * the apiserver serves them. Safe to run concurrently and repeatedly (test suites share one
 * cluster): an existing CRD is replaced by ours, and an update that changes nothing is a no-op.
 */
export async function installCrds(
  client: KubeClient,
  defs: readonly ResourceDef[] = HWE_RESOURCES,
  opts: InstallOptions = {},
): Promise<void> {
  await installCrdObjects(
    client,
    defs.map((d) => customResourceDefinition(d)),
    opts,
  );
}

/**
 * Creates or updates CRDs given as objects, such as the manifests another project publishes
 * for its APIs, and waits until the apiserver serves them; as installCrds.
 */
export async function installCrdObjects(
  client: KubeClient,
  crds: readonly CustomResourceDefinition[],
  opts: InstallOptions = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  await Promise.all(crds.map((c) => applyCrd(client, c, deadline)));
  await Promise.all(crds.map((c) => waitEstablished(client, c.metadata.name, deadline)));
}

async function applyCrd(client: KubeClient, crd: CustomResourceDefinition, deadline: number) {
  try {
    await client.request(CRDS, { method: 'POST', body: crd });
    return;
  } catch (e) {
    if (!isKubeError(e, 'AlreadyExists')) throw e;
  }
  // Someone else may be updating the same CRD: retry on conflicts with a fresh resourceVersion.
  for (;;) {
    const current = await client.request<CrdStatus>(`${CRDS}/${crd.metadata.name}`);
    const body = {
      ...crd,
      metadata: { ...crd.metadata, resourceVersion: current.metadata.resourceVersion },
    };
    try {
      await client.request(`${CRDS}/${crd.metadata.name}`, { method: 'PUT', body });
      return;
    } catch (e) {
      if (!isKubeError(e, 'Conflict') || Date.now() > deadline) throw e;
    }
  }
}

async function waitEstablished(client: KubeClient, name: string, deadline: number) {
  for (;;) {
    const crd = await client.request<CrdStatus>(`${CRDS}/${name}`);
    const conds = crd.status?.conditions ?? [];
    const established = conds.find((c) => c.type === 'Established')?.status === 'True';
    const names = conds.find((c) => c.type === 'NamesAccepted');
    if (names?.status === 'False')
      throw new Error(`CRD ${name}: names not accepted: ${names.message ?? names.reason ?? ''}`);
    if (established) return;
    if (Date.now() > deadline) throw new Error(`CRD ${name} not Established in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
