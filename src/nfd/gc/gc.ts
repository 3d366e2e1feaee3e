import { NodeFeatures, NodeResourceTopologies } from '../../api/index.js';
import {
  apiServes,
  isKubeError,
  Manager,
  Nodes,
  periodic,
  type KubeClient,
  type KubeObject,
  type Logger,
  type ResourceType,
  metricsBesideProbes,
} from '../../runtime/index.js';
import { NODE_NAME_LABEL } from '../eval/index.js';

const NODE_INDEX = 'node';

export interface GcOptions {
  client: KubeClient;
  /** -gc-interval: time between sweeps of every object (node deletions act at once). */
  intervalMs?: number;
  /**
   * -gc-grace-period: a sweep leaves objects younger than this alone, so that objects created
   * just before their Node registers survive. Default 10 minutes.
   */
  gracePeriodMs?: number;
  /** The current time in ms (tests move it forward). */
  now?: () => number;
  /**
   * Consider only objects with these labels (a label selector). For sharing a cluster with
   * other NFD deployments or tests; upstream nfd-gc considers every object.
   */
  labelSelector?: string;
  healthProbeAddress?: string;
  metricsAddress?: string;
  /** HTTPS with TokenReview/SubjectAccessReview on metricsAddress (see ManagerOptions). */
  metricsSecure?: boolean;
  metricsCertDir?: string;
  log?: Logger;
}

export interface GcStats {
  nodeFeaturesDeleted: number;
  topologiesDeleted: number;
  sweeps: number;
}

export const DEFAULT_GRACE_PERIOD_MS = 10 * 60_000;

/** How long `obj` must still wait before it may be deleted (0: now). */
export function graceLeft(obj: KubeObject, gracePeriodMs: number, now: number): number {
  const created = Date.parse(obj.metadata.creationTimestamp ?? '');
  if (Number.isNaN(created)) return 0;
  return Math.max(0, created + gracePeriodMs - now);
}

/** Which node a NodeFeature is for: its node-name label, else its name (as the master reads it). */
function nodeOfFeature(o: KubeObject): string {
  return o.metadata.labels?.[NODE_NAME_LABEL] ?? o.metadata.name!;
}

/**
 * nfd-gc: deletes the NodeFeature and NodeResourceTopology objects of nodes that no longer
 * exist — when a Node is deleted, and by a sweep at start and every interval (which also
 * catches objects created for a node that never existed or was deleted while gc was down), as
 * upstream does. An object's own creation triggers nothing, and a sweep leaves objects younger
 * than the grace period alone: objects may be created before their Node registers. Everything is
 * cached metadata-only. Before deleting, the Node is looked up live, so a cache that lags
 * behind a re-created Node never costs its objects; deletes carry the object's uid, so a
 * re-created object survives.
 */
export class NfdGc {
  readonly mgr: Manager;
  readonly stats: GcStats = { nodeFeaturesDeleted: 0, topologiesDeleted: 0, sweeps: 0 };
  private readonly opts: GcOptions;

  constructor(opts: GcOptions) {
    this.opts = opts;
    this.mgr = new Manager({
      client: opts.client,
      name: 'nfd-gc',
      log: opts.log,
      // Listing thousands of large objects from a busy apiserver can take minutes; waiting
      // longer beats exiting and starting the list over (upstream waits without a limit).
      cacheSyncTimeoutMs: 15 * 60_000,
      ...metricsBesideProbes(opts),
    });
  }

  async start(): Promise<void> {
    const { mgr } = this;
    const grace = this.opts.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS;
    const now = this.opts.now ?? Date.now;
    const nodes = mgr.informers.informer(Nodes, { metadataOnly: true });

    const collector = (
      type: ResourceType,
      nodeOf: (o: KubeObject) => string,
      counter: 'nodeFeaturesDeleted' | 'topologiesDeleted',
    ) => {
      const objects = mgr.informers.informer(type, {
        metadataOnly: true,
        labelSelector: this.opts.labelSelector,
        indexers: { [NODE_INDEX]: (o) => [nodeOf(o)] },
      });
      const api = mgr.api(type);
      const c = mgr
        .controller(`nfd-gc-${type.plural}`)
        .for(type, {
          informer: { metadataOnly: true, labelSelector: this.opts.labelSelector },
          // Only Node deletions and sweeps look at an object, never its own events.
          predicates: [{ create: () => false, update: () => false, delete: () => false }],
        })
        .watches(
          Nodes,
          (node) =>
            objects.byIndex(NODE_INDEX, node.metadata.name!).map((o) => ({
              namespace: o.metadata.namespace,
              name: o.metadata.name!,
            })),
          {
            informer: { metadataOnly: true },
            predicates: [{ create: () => false, update: () => false }],
          },
        )
        .workers(4)
        .complete(async (req, { log }) => {
          const obj = objects.getByName(req.name, req.namespace);
          if (!obj) return;
          const node = nodeOf(obj);
          if (nodes.getByName(node)) return;
          // The cache says the node is gone; make sure before deleting anything.
          if (await mgr.api(Nodes).find(node)) return;
          let deleted: boolean;
          try {
            deleted = await api.deleteIfExists(req.name, {
              namespace: req.namespace,
              preconditions: { uid: obj.metadata.uid },
            });
          } catch (e) {
            // The object was deleted and created again meanwhile: the new one is not ours to judge yet.
            if (!isKubeError(e, 'Conflict')) throw e;
            log.debug('object was re-created; left alone', { kind: type.kind, node });
            return;
          }
          if (deleted) {
            this.stats[counter]++;
            log.info('deleted object of a node that no longer exists', {
              kind: type.kind,
              node,
            });
          }
        });
      return { objects, nodeOf, controller: c };
    };
    const all = [collector(NodeFeatures, nodeOfFeature, 'nodeFeaturesDeleted')];
    if (await apiServes(this.opts.client, NodeResourceTopologies)) {
      // NodeResourceTopology objects are named after their node.
      all.push(collector(NodeResourceTopologies, (o) => o.metadata.name!, 'topologiesDeleted'));
    }

    const sweep = () => {
      this.stats.sweeps++;
      const t = now();
      let candidates = 0;
      for (const { objects, nodeOf, controller } of all) {
        for (const o of objects.list()) {
          // Objects whose node is cached, or still in their grace period, need no look.
          if (nodes.getByName(nodeOf(o)) || graceLeft(o, grace, t) > 0) continue;
          candidates++;
          controller.enqueue({ namespace: o.metadata.namespace, name: o.metadata.name! });
        }
      }
      mgr.log.info('sweep: checked every object', { orphans: candidates });
    };
    const interval = this.opts.intervalMs ?? 3_600_000;
    if (interval > 0) mgr.add(periodic('sweep', interval, sweep));
    await mgr.start();
    sweep();
  }

  wait(): Promise<void> {
    return this.mgr.wait();
  }

  stop(): Promise<void> {
    return this.mgr.stop();
  }
}
