/**
 * The updater's two uses of the Kubernetes API: the Pod objects of its node (to tell which pods
 * count) and the server-side apply of its NodeResourceTopology.
 */
import { type NodeResourceTopology, NodeResourceTopologyResource } from '../../api/nfd.js';
import { apiResource } from '../../api/resource.js';
import { ResourceClient } from '../../runtime/api.js';
import type { KubeClient } from '../../runtime/client.js';
import { Pods } from '../../runtime/resources.js';
import type { KubeObject } from '../../runtime/objects.js';
import type { PodShape } from './aggregate.js';
import { FIELD_MANAGER } from './constants.js';

/** The pods bound to `nodeName` (in `namespace`, or all for `*`), by `namespace/name`. */
export async function listNodePods(
  client: KubeClient,
  nodeName: string,
  namespace: string,
): Promise<Map<string, PodShape>> {
  const pods = new ResourceClient<KubeObject & PodShape>(client, Pods);
  const { items } = await pods.listAll({
    namespace: namespace === '*' ? undefined : namespace,
    fieldSelector: `spec.nodeName=${nodeName}`,
  });
  return new Map(items.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
}

/** Writes the object by server-side apply, taking over fields another manager may hold. */
export async function applyNodeResourceTopology(
  client: KubeClient,
  nrt: NodeResourceTopology,
): Promise<void> {
  await new ResourceClient(client, apiResource(NodeResourceTopologyResource), FIELD_MANAGER).apply(
    nrt,
    {
      force: true,
    },
  );
}
