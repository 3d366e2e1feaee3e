import {
  mapLimit,
  Nodes,
  ResourceClient,
  type KubeClient,
  type Logger,
} from '../../runtime/index.js';
import type { MasterNode } from './master.js';
import { ANNOTATION_NS, computeNodeUpdate, instanceAnnotation } from './node-update.js';

/**
 * nfd-master -prune: removes from every Node what the bookkeeping annotations say NFD added
 * (labels, feature annotations, extended resources, taints), then the bookkeeping itself.
 * Returns how many nodes were written.
 */
export async function pruneNodes(
  client: KubeClient,
  instance: string | undefined,
  log: Logger,
): Promise<number> {
  const api = new ResourceClient<MasterNode>(client, Nodes, 'nfd-master');
  const { items } = await api.listAll();
  const prefix = instanceAnnotation(`${ANNOTATION_NS}/`, instance);
  const written = await mapLimit(items, 10, async (node) => {
    const name = node.metadata.name!;
    const annotations = node.metadata.annotations ?? {};
    const update = computeNodeUpdate(
      {
        labels: node.metadata.labels,
        annotations,
        taints: node.spec?.taints,
        capacity: node.status?.capacity,
        allocatable: node.status?.allocatable,
      },
      { labels: {}, annotations: {}, extendedResources: {}, taints: [] },
      instance,
    );
    const patch = update.patch ?? { metadata: {} };
    // Any other annotation of ours (e.g. from a newer version) goes too.
    const extra = Object.keys(annotations).filter((k) => k.startsWith(prefix));
    if (extra.length) {
      patch.metadata.annotations = {
        ...patch.metadata.annotations,
        ...Object.fromEntries(extra.map((k) => [k, null])),
      };
    }
    if (!update.statusPatch && !update.patch && extra.length === 0) return 0;
    if (update.statusPatch) await api.patchStatus(name, update.statusPatch);
    await api.patch(
      name,
      update.taintsChanged
        ? {
            ...patch,
            metadata: { ...patch.metadata, resourceVersion: node.metadata.resourceVersion },
          }
        : patch,
    );
    log.info('pruned node', { node: name });
    return 1;
  });
  return written.reduce<number>((a, b) => a + b, 0);
}
