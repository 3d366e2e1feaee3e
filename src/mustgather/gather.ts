/**
 * must-gather: a support bundle of everything KMM and NFD own in a cluster, laid out as
 * OpenShift's must-gather lays it out, so that the usual tools read it:
 *
 *   DEST/cluster-scoped-resources/<group>/<plural>/<name>.yaml
 *   DEST/namespaces/<ns>/<group>/<plural>/<name>.yaml
 *   DEST/namespaces/<ns>/pods/<pod>/<container>/<container>/logs/current.log
 *
 * (`core` stands for the core API group.) Every list is paged and every page is written before
 * the next is asked for, so a cluster of thousands of nodes needs no more memory than a page.
 * Secrets are listed by name only: their data, and annotations that may copy it, are never
 * requested.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  ManagedClusterModules,
  ModuleBuildSignConfigs,
  ModuleImagesConfigs,
  Modules,
  NodeFeatureDiscoveries,
  NodeFeatureGroups,
  NodeFeatureRules,
  NodeFeatures,
  NodeModulesConfigs,
  NodeResourceTopologies,
  OpenShiftNodeFeatureRules,
  PreflightValidations,
  PreflightValidationsOCP,
} from '../api/index.js';
import {
  ConfigMaps,
  DaemonSets,
  Deployments,
  Events,
  Nodes,
  Pods,
  ResourceClient,
  Secrets,
  Services,
  apiVersionOf,
  isKubeError,
  resourcePath,
  type KubeClient,
  type KubeObject,
  type ListOptions,
  type ResourceType,
} from '../runtime/index.js';

/** Namespaces the operators are installed in by default; gathered whole when they exist. */
const DEFAULT_COMPONENT_NAMESPACES = ['openshift-kmm', 'openshift-kmm-hub', 'openshift-nfd'];

/** Label keys that mark a pod or DaemonSet as KMM's or NFD's in a user's namespace. */
const OWNED_LABEL = /(^|\.)kmm\.node\.kubernetes\.io\/|(^|\.)nfd\.node\.kubernetes\.io\//;

/** The custom resources of KMM and NFD: gathered in every namespace. */
const CUSTOM_KINDS: ResourceType[] = [
  Modules,
  NodeModulesConfigs,
  ModuleImagesConfigs,
  ModuleBuildSignConfigs,
  PreflightValidations,
  PreflightValidationsOCP,
  ManagedClusterModules,
  NodeFeatureDiscoveries,
  NodeFeatures,
  NodeFeatureRules,
  OpenShiftNodeFeatureRules,
  NodeFeatureGroups,
  NodeResourceTopologies,
];

/** Kinds gathered whole in a component namespace (Secrets apart: names only). */
const COMPONENT_KINDS: ResourceType[] = [Deployments, DaemonSets, ConfigMaps, Services];

export interface GatherOptions {
  client: KubeClient;
  /** Where the bundle is written (created if missing). */
  destDir: string;
  /** Only logs and events of the last `sinceMs` milliseconds. */
  sinceMs?: number;
  /** Namespaces to gather whole, beside those found and the defaults. */
  namespaces?: string[];
  /** Objects per page [250]. */
  pageSize?: number;
  /** Log bytes per container at most [10 MiB]. */
  logLimitBytes?: number;
  /** Progress lines (stderr in the command). */
  progress?: (line: string) => void;
  clock?: () => Date;
}

export interface GatherSummary {
  /** Objects written, by `<Kind>`. */
  objects: Record<string, number>;
  logs: number;
  /** What could not be gathered, in words; the bundle is still written. */
  problems: string[];
}

interface Namespaced {
  metadata: KubeObject['metadata'] & { namespace?: string };
}

function groupDir(t: ResourceType): string {
  return t.group || 'core';
}

/** A file or folder name from an object name: names never hold `/`, but be safe. */
function safe(name: string): string {
  return name.replace(/[/\\]/g, '_').replace(/^\.+/, '_');
}

/** An object as it is written: without managedFields (noise, and large). */
function cleaned<T extends KubeObject>(obj: T): T {
  if (obj.metadata) delete obj.metadata.managedFields;
  return obj;
}

export class MustGather {
  private readonly o: Required<Omit<GatherOptions, 'sinceMs' | 'namespaces'>> &
    Pick<GatherOptions, 'sinceMs' | 'namespaces'>;
  private readonly summary: GatherSummary = { objects: {}, logs: 0, problems: [] };
  /** Namespaces where KMM or NFD objects live: their KMM/NFD pods, DaemonSets, events. */
  private readonly userNamespaces = new Set<string>();

  constructor(opts: GatherOptions) {
    this.o = {
      pageSize: 250,
      logLimitBytes: 10 << 20,
      progress: () => {},
      clock: () => new Date(),
      ...opts,
    };
  }

  async run(): Promise<GatherSummary> {
    await mkdir(this.o.destDir, { recursive: true });
    await writeFile(join(this.o.destDir, 'timestamp'), `${this.o.clock().toISOString()}\n`);
    for (const t of CUSTOM_KINDS) {
      await this.gatherKind(t, {}, (obj) => {
        const ns = (obj as Namespaced).metadata.namespace;
        if (ns) this.userNamespaces.add(ns);
      });
    }
    await this.gatherNodes();
    const components = await this.componentNamespaces();
    for (const ns of components) {
      this.userNamespaces.delete(ns);
      for (const t of COMPONENT_KINDS) await this.gatherKind(t, { namespace: ns });
      await this.gatherSecretNames(ns);
      await this.gatherPods(ns, () => true);
      await this.gatherEvents(ns);
    }
    for (const ns of [...this.userNamespaces].sort()) {
      await this.gatherKind(DaemonSets, { namespace: ns }, undefined, isOwned);
      await this.gatherSecretNames(ns);
      await this.gatherPods(ns, isOwned);
      await this.gatherEvents(ns);
    }
    const counts = Object.entries(this.summary.objects)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    this.o.progress(`gathered ${counts}; ${this.summary.logs} container logs`);
    return this.summary;
  }

  /** The operators' namespaces: the defaults that exist, those given, and NFD CR namespaces. */
  private async componentNamespaces(): Promise<string[]> {
    const out = new Set<string>(this.o.namespaces ?? []);
    for (const ns of DEFAULT_COMPONENT_NAMESPACES) {
      try {
        await this.o.client.request(`/api/v1/namespaces/${ns}`);
        out.add(ns);
      } catch (e) {
        if (!isKubeError(e, 'NotFound') && !isKubeError(e, 'Forbidden')) throw e;
      }
    }
    // The NodeFeatureDiscovery CR lives with the operator and its operands.
    const nfd = new ResourceClient(this.o.client, NodeFeatureDiscoveries);
    try {
      await nfd.listAll({
        pageSize: this.o.pageSize,
        metadataOnly: true,
        onPage: (items) => {
          for (const i of items) if (i.metadata.namespace) out.add(i.metadata.namespace);
        },
      });
    } catch (e) {
      if (!isKubeError(e, 'NotFound')) throw e;
    }
    return [...out].sort();
  }

  private count(kind: string, n = 1): void {
    this.summary.objects[kind] = (this.summary.objects[kind] ?? 0) + n;
  }

  private problem(text: string): void {
    this.summary.problems.push(text);
    this.o.progress(`warning: ${text}`);
  }

  private fileOf(t: ResourceType, name: string, namespace?: string): string {
    const base = namespace
      ? join(this.o.destDir, 'namespaces', safe(namespace))
      : join(this.o.destDir, 'cluster-scoped-resources');
    return join(base, groupDir(t), t.plural, `${safe(name)}.yaml`);
  }

  private async write(t: ResourceType, obj: KubeObject): Promise<void> {
    const ns = (obj as Namespaced).metadata.namespace;
    const file = this.fileOf(t, obj.metadata.name ?? 'unnamed', t.namespaced ? ns : undefined);
    await mkdir(join(file, '..'), { recursive: true });
    // List items carry no apiVersion and kind; the file says what it holds.
    await writeFile(file, stringify({ ...obj, apiVersion: apiVersionOf(t), kind: t.kind }));
  }

  /**
   * Writes every object of a kind (optionally in one namespace, optionally filtered), a page at a
   * time. A kind the cluster does not serve (CRD not installed) is noted and skipped.
   */
  private async gatherKind(
    t: ResourceType,
    where: { namespace?: string },
    seen?: (obj: KubeObject) => void,
    keep: (obj: KubeObject) => boolean = () => true,
  ): Promise<void> {
    const api = new ResourceClient(this.o.client, t);
    let n = 0;
    try {
      for await (const obj of paged(api, where, this.o.pageSize)) {
        if (!keep(obj)) continue;
        seen?.(obj);
        await this.write(t, cleaned(obj));
        n++;
      }
    } catch (e) {
      if (isKubeError(e, 'NotFound')) return; // not served here
      if (isKubeError(e, 'Forbidden')) {
        this.problem(`${t.kind} ${where.namespace ?? ''}: not allowed to list (${e.message})`);
        return;
      }
      throw e;
    }
    if (n) {
      this.count(t.kind, n);
      this.o.progress(`${t.kind}${where.namespace ? ` in ${where.namespace}` : ''}: ${n}`);
    }
  }

  /**
   * Nodes as KMM and NFD see them: name, labels, NFD's bookkeeping annotations, taints, capacity
   * and nodeInfo (kernel, OS image, boot ID). The rest of a Node is not theirs.
   */
  private async gatherNodes(): Promise<void> {
    const api = new ResourceClient(this.o.client, Nodes);
    let n = 0;
    for await (const node of paged(api, {}, this.o.pageSize) as AsyncGenerator<NodeLike>) {
      const annotations = Object.fromEntries(
        Object.entries(node.metadata.annotations ?? {}).filter(([k]) => OWNED_LABEL.test(k)),
      );
      await this.write(Nodes, {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: node.metadata.name,
          labels: node.metadata.labels ?? {},
          annotations,
        },
        spec: { taints: node.spec?.taints ?? [] },
        status: {
          capacity: node.status?.capacity ?? {},
          nodeInfo: node.status?.nodeInfo ?? {},
        },
      } as KubeObject);
      n++;
    }
    this.count('Node', n);
    this.o.progress(`Node: ${n}`);
  }

  /** Secrets by name only: the list is metadata-only and keeps no annotation. */
  private async gatherSecretNames(ns: string): Promise<void> {
    const api = new ResourceClient(this.o.client, Secrets);
    const names: string[] = [];
    try {
      const list = paged(api, { namespace: ns, metadataOnly: true }, this.o.pageSize);
      for await (const s of list) names.push(s.metadata.name!);
    } catch (e) {
      if (isKubeError(e, 'Forbidden')) return;
      throw e;
    }
    if (!names.length) return;
    const dir = join(this.o.destDir, 'namespaces', safe(ns), 'core');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'secrets.yaml'),
      stringify({
        note: 'Secrets are listed by name only; their data is never collected.',
        names: names.sort(),
      }),
    );
  }

  private async gatherPods(ns: string, keep: (p: KubeObject) => boolean): Promise<void> {
    const api = new ResourceClient(this.o.client, Pods);
    let n = 0;
    for await (const pod of paged(
      api,
      { namespace: ns },
      this.o.pageSize,
    ) as AsyncGenerator<PodLike>) {
      if (!keep(pod)) continue;
      await this.write(Pods, cleaned(pod));
      n++;
      const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
      for (const c of containers) await this.gatherLog(ns, pod.metadata.name!, c.name);
    }
    if (n) {
      this.count('Pod', n);
      this.o.progress(`Pod in ${ns}: ${n}`);
    }
  }

  /** One container's log, streamed to disk; a log that cannot be read leaves a note. */
  private async gatherLog(ns: string, pod: string, container: string): Promise<void> {
    const dir = join(
      this.o.destDir,
      'namespaces',
      safe(ns),
      'pods',
      safe(pod),
      safe(container),
      safe(container),
      'logs',
    );
    await mkdir(dir, { recursive: true });
    const query: Record<string, string | number> = {
      container,
      limitBytes: this.o.logLimitBytes,
      timestamps: 'true',
    };
    if (this.o.sinceMs !== undefined)
      query.sinceSeconds = Math.max(1, Math.ceil(this.o.sinceMs / 1000));
    const path = `${resourcePath(Pods, { namespace: ns, name: pod, subresource: 'log' })}`;
    try {
      const body = await this.o.client.requestText(path, { query }, 'text/plain');
      await new Promise<void>((resolve, reject) => {
        const out = createWriteStream(join(dir, 'current.log'));
        out.on('error', reject);
        out.end(body, () => resolve());
      });
      this.summary.logs++;
    } catch (e) {
      // A pod that never ran, a node that serves no logs: say so where the log would be.
      const why = e instanceof Error ? e.message : String(e);
      await writeFile(join(dir, 'error.txt'), `the log could not be read: ${why}\n`);
    }
  }

  /** Events of a namespace, newer than `since` when given, one file as `oc adm inspect` does. */
  private async gatherEvents(ns: string): Promise<void> {
    const api = new ResourceClient(this.o.client, Events);
    const cutoff =
      this.o.sinceMs === undefined ? undefined : this.o.clock().getTime() - this.o.sinceMs;
    const file = join(this.o.destDir, 'namespaces', safe(ns), 'core', 'events.yaml');
    let n = 0;
    let out: ReturnType<typeof createWriteStream> | undefined;
    for await (const ev of paged(
      api,
      { namespace: ns },
      this.o.pageSize,
    ) as AsyncGenerator<EventLike>) {
      const at = Date.parse(
        ev.lastTimestamp ?? ev.eventTime ?? ev.metadata.creationTimestamp ?? '',
      );
      if (cutoff !== undefined && !Number.isNaN(at) && at < cutoff) continue;
      if (!out) {
        await mkdir(join(file, '..'), { recursive: true });
        out = createWriteStream(file);
        out.write('apiVersion: v1\nkind: EventList\nitems:\n');
      }
      const doc = stringify([cleaned(ev)]);
      out.write(doc);
      n++;
    }
    if (out) {
      const stream = out;
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.end(() => resolve());
      });
      this.count('Event', n);
    }
  }
}

/** Every object of a list, asked for a page at a time. */
async function* paged<T extends KubeObject>(
  api: ResourceClient<T>,
  o: ListOptions,
  pageSize: number,
): AsyncGenerator<T> {
  let cont: string | undefined;
  do {
    const page = await api.list({ ...o, limit: pageSize, continue: cont });
    // An empty list may come as "items": null.
    yield* page.items ?? [];
    cont = page.metadata.continue || undefined;
  } while (cont);
}

function isOwned(obj: KubeObject): boolean {
  return Object.keys(obj.metadata.labels ?? {}).some((k) => OWNED_LABEL.test(k));
}

interface NodeLike extends KubeObject {
  spec?: { taints?: unknown[] };
  status?: { capacity?: Record<string, string>; nodeInfo?: Record<string, string> };
}

interface PodLike extends KubeObject {
  spec?: { containers?: { name: string }[]; initContainers?: { name: string }[] };
}

interface EventLike extends KubeObject {
  lastTimestamp?: string;
  eventTime?: string;
}
