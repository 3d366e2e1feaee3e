/**
 * The nfd-topology-updater loop. A pass reads the kubelet configuration, the NUMA layout from
 * sysfs, the updater's exclude list and the kubelet's pod-resources (allocatable, then what pods
 * hold), and writes the node's NodeResourceTopology (or prints it with -no-publish). Passes run
 * at start, every sleep interval (none when it is not positive) and soon after the kubelet's
 * CPU, memory or device checkpoints change. A failed pass is logged and retried after 1 s,
 * doubling up to the sleep interval (a minute when there is none); `oneshot` runs one pass.
 */
import type { NodeResourceTopology, Zone } from '../../api/nfd.js';
import type { Logger } from '../../runtime/log.js';
import { ChangeWatcher } from '../worker/watch.js';
import { aggregateZones, allocatableFromConfig, countedPods, type PodShape } from './aggregate.js';
import { readExcludeList } from './config.js';
import {
  ATTR_TOPOLOGY_MANAGER_POLICY,
  ATTR_TOPOLOGY_MANAGER_SCOPE,
  KUBELET_STATE_FILES,
  topologyPolicy,
} from './constants.js';
import { type KubeletTopologyConfig, readKubeletConfig } from './kubelet-config.js';
import {
  type AllocatableResourcesResponse,
  PodResourcesError,
  type PodResourcesClient,
} from './podresources.js';
import { readNumaTopology } from './sysfs.js';

export interface UpdaterOptions {
  nodeName: string;
  /** The host's /sys. */
  sys: string;
  kubeletConfigFile: string;
  /** The updater's configuration (exclude list); missing means none. */
  configFile: string;
  /** Where the kubelet keeps its checkpoints; undefined: do not watch. */
  kubeletStateDir?: string;
  /** `-watch-namespace`: only pods of this namespace count (`*`: all). */
  watchNamespace: string;
  sleepIntervalMs: number;
  oneshot: boolean;
  /** Connects to the kubelet's pod-resources socket; called once, on the first pass. */
  connect: () => Promise<PodResourcesClient>;
  /** The Pod objects on the node by `namespace/name` (only asked when the kubelet lists pods). */
  pods: (namespace: string) => Promise<Map<string, PodShape>>;
  /** Writes the object (server-side apply); undefined with -no-publish. */
  publish?: (nrt: NodeResourceTopology) => Promise<void>;
  /** Called with the object of every successful pass (prints it with -no-publish). */
  onPass?: (nrt: NodeResourceTopology) => void;
  /** Called when a pass fails (tests and benchmarks observe the loop through it). */
  onError?: (e: Error) => void;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  signal?: AbortSignal;
  /** First delay before retrying a failed pass; doubles. Default 1 s. */
  retryDelayMs?: number;
}

const MAX_RETRY_DELAY_MS = 60_000;

/** The object for `nodeName` from its zones and the kubelet's topology manager settings. */
export function buildNodeResourceTopology(
  nodeName: string,
  zones: Zone[],
  kubelet: KubeletTopologyConfig,
): NodeResourceTopology {
  const { topologyManagerPolicy: policy, topologyManagerScope: scope } = kubelet;
  return {
    apiVersion: 'topology.node.k8s.io/v1alpha2',
    kind: 'NodeResourceTopology',
    metadata: { name: nodeName },
    topologyPolicies: [topologyPolicy(policy, scope)],
    attributes: [
      { name: ATTR_TOPOLOGY_MANAGER_POLICY, value: policy },
      { name: ATTR_TOPOLOGY_MANAGER_SCOPE, value: scope },
    ],
    zones,
  };
}

/** Runs passes until the signal aborts (or once with `oneshot`). Returns the exit code. */
export async function runTopologyUpdater(o: UpdaterOptions): Promise<number> {
  let client: PodResourcesClient | undefined;
  let warnedFallback = false;

  const pass = async (): Promise<NodeResourceTopology> => {
    const kubelet = readKubeletConfig(o.kubeletConfigFile);
    const topology = readNumaTopology(o.sys);
    const exclude = readExcludeList(o.configFile, o.nodeName);
    client ??= await o.connect();
    let allocatable: AllocatableResourcesResponse;
    try {
      allocatable = await client.getAllocatableResources();
    } catch (e) {
      if (!(e instanceof PodResourcesError) || !e.unimplemented) throw e;
      if (!warnedFallback)
        o.log.warn(
          `${e.message}: this kubelet cannot report allocatable resources; using ${o.kubeletConfigFile} ` +
            '(reservedSystemCPUs, reservedMemory) and sysfs instead; devices are not reported',
        );
      warnedFallback = true;
      allocatable = allocatableFromConfig(topology, kubelet);
    }
    const list = await client.list();
    const pods = list.pod_resources?.length
      ? await o.pods(o.watchNamespace)
      : new Map<string, PodShape>();
    const zones = aggregateZones({
      topology,
      allocatable,
      pods: countedPods(list, pods, o.watchNamespace),
      exclude,
    });
    const nrt = buildNodeResourceTopology(o.nodeName, zones, kubelet);
    if (o.publish) await o.publish(nrt);
    return nrt;
  };

  const watcher =
    o.oneshot || !o.kubeletStateDir
      ? undefined
      : new ChangeWatcher({
          dirs: [],
          files: KUBELET_STATE_FILES.map((f) => `${o.kubeletStateDir}/${f}`),
        });
  const baseRetry = o.retryDelayMs ?? 1000;
  const maxRetry = o.sleepIntervalMs > 0 ? o.sleepIntervalMs : MAX_RETRY_DELAY_MS;
  let retry = baseRetry;
  // Successes are logged at start and after failures only, not on every interval.
  let quiet = false;
  try {
    for (;;) {
      let failed = false;
      try {
        const nrt = await pass();
        o.onPass?.(nrt);
        if (!quiet)
          o.log.info(
            `${o.publish ? 'published' : 'computed'} NodeResourceTopology ${o.nodeName}: ${nrt.zones.length} zones`,
          );
        quiet = true;
        retry = baseRetry;
      } catch (e) {
        failed = true;
        quiet = false;
        const err = e instanceof Error ? e : new Error(String(e));
        // A new channel next time: gRPC's own reconnection backs off up to two minutes, far
        // longer than a kubelet restart takes.
        if (err instanceof PodResourcesError) {
          client?.close();
          client = undefined;
        }
        o.log.error(
          o.oneshot ? err.message : `${err.message}; retrying in ${Math.round(retry / 1000)}s`,
        );
        o.onError?.(err);
        if (o.oneshot) return 1;
      }
      if (o.oneshot) return 0;
      if (o.signal?.aborted) return 0;
      const wait = failed ? Math.min(retry, maxRetry) : o.sleepIntervalMs;
      if (failed) retry = Math.min(retry * 2, maxRetry);
      if (watcher) {
        watcher.refresh();
        await watcher.next(wait, o.signal);
      } else {
        await sleep(wait, o.signal);
      }
      if (o.signal?.aborted) return 0;
    }
  } finally {
    watcher?.close();
    client?.close();
  }
}

/** Waits `ms` (forever when not positive) or until the signal aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      clearInterval(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    // Without a timer nothing would keep the process alive while it waits for the signal.
    const timer = ms > 0 ? setTimeout(done, ms) : setInterval(() => undefined, 3_600_000);
    signal?.addEventListener('abort', done);
  });
}
