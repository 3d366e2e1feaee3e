/**
 * Writes the worker's NodeFeature object: created when missing, replaced when what the worker
 * owns (spec, node-name label, pod annotation, owner references) differs, and left alone —
 * no request beyond the read — when nothing changed.
 */
import type { NodeFeature } from '../../api/nfd.js';
import { isKubeError, type KubeClient } from '../../runtime/client.js';
import { type NodeFeatureObject, NODE_NAME_LABEL, WORKER_POD_UID_ANNOTATION } from './discover.js';

export type PublishOutcome = 'created' | 'updated' | 'unchanged';

function path(ns: string, name?: string): string {
  const base = `/apis/nfd.k8s-sigs.io/v1alpha1/namespaces/${encodeURIComponent(ns)}/nodefeatures`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** JSON with object keys sorted, so that key order never counts as a change. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : val,
  );
}

/** The current object with the worker's parts replaced by `want`'s; other fields are kept. */
export function desiredFrom(current: NodeFeature, want: NodeFeatureObject): NodeFeatureObject {
  const labels = {
    ...current.metadata.labels,
    [NODE_NAME_LABEL]: want.metadata.labels[NODE_NAME_LABEL]!,
  };
  const annotations = { ...(current.metadata.annotations ?? {}) };
  const podUid = want.metadata.annotations?.[WORKER_POD_UID_ANNOTATION];
  if (podUid) annotations[WORKER_POD_UID_ANNOTATION] = podUid;
  const { name, namespace } = want.metadata;
  const metadata: NodeFeatureObject['metadata'] = { name, namespace, ...current.metadata, labels };
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  if (want.metadata.ownerReferences?.length)
    metadata.ownerReferences = want.metadata.ownerReferences;
  return { ...current, apiVersion: want.apiVersion, kind: want.kind, metadata, spec: want.spec };
}

export function needsUpdate(current: NodeFeature, want: NodeFeatureObject): boolean {
  const desired = desiredFrom(current, want);
  return (
    canonical(current.spec) !== canonical(desired.spec) ||
    canonical(current.metadata.labels ?? {}) !== canonical(desired.metadata.labels) ||
    canonical(current.metadata.annotations ?? {}) !==
      canonical(desired.metadata.annotations ?? {}) ||
    canonical(current.metadata.ownerReferences ?? []) !==
      canonical(desired.metadata.ownerReferences ?? [])
  );
}

export async function publishNodeFeature(
  client: KubeClient,
  want: NodeFeatureObject,
): Promise<PublishOutcome> {
  const { namespace, name } = want.metadata;
  for (let attempt = 0; ; attempt++) {
    let current: NodeFeature | undefined;
    try {
      current = await client.request<NodeFeature>(path(namespace, name));
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) throw e;
    }
    try {
      if (!current) {
        try {
          // `satisfies`: what the worker writes type-checks against the CRD's own definition.
          await client.request(path(namespace), {
            method: 'POST',
            body: want satisfies NodeFeature,
          });
        } catch (e) {
          // The collection itself is missing: the CRD is not installed (or the namespace is gone).
          if (isKubeError(e, 'NotFound'))
            throw new Error(
              `cannot create NodeFeature ${namespace}/${name}: ${e.message}; is the NodeFeature CRD (nodefeatures.nfd.k8s-sigs.io, config/crd/) installed and does namespace ${namespace} exist?`,
            );
          throw e;
        }
        return 'created';
      }
      if (!needsUpdate(current, want)) return 'unchanged';
      await client.request(path(namespace, name), {
        method: 'PUT',
        body: desiredFrom(current, want) satisfies NodeFeature,
      });
      return 'updated';
    } catch (e) {
      // Someone else wrote in between (or created it first): read again and retry.
      if (attempt < 3 && (isKubeError(e, 'Conflict') || isKubeError(e, 'AlreadyExists'))) continue;
      throw e;
    }
  }
}
