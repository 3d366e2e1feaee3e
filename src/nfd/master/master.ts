import { createHash } from 'node:crypto';
import {
  NodeFeatureGroups,
  NodeFeatureRules,
  NodeFeatures,
  OpenShiftNodeFeatureRules,
  type NodeFeature,
  type NodeFeatureGroup,
  type NodeFeatureRule,
} from '../../api/index.js';
import {
  deepEqual,
  EventRecorder,
  generationChanged,
  isKubeError,
  Manager,
  Nodes,
  apiServes,
  periodic,
  type Counter,
  type Informer,
  type KubeClient,
  type KubeObject,
  type Logger,
  type Request,
  type ResourceClient,
  type Result,
  metricsBesideProbes,
} from '../../runtime/index.js';
import {
  applyLabelPolicy,
  mergeNodeFeatures,
  NODE_NAME_LABEL,
  readNodeFeature,
  type LabelPolicy,
  type NodeFeatureObject,
  type Rejection,
} from '../eval/index.js';
import {
  addDefaultNamespace,
  compileRules,
  emptyFeatures,
  processRules,
  type CompiledRuleSet,
  type Features,
} from '../rules/index.js';

import { compileGroup, matchGroup, type CompiledGroup } from './groups.js';
import {
  computeNodeUpdate,
  type DesiredNodeState,
  type NodeTaintLike,
  type NodeUpdate,
} from './node-update.js';
import { ProblemReporter } from './problems.js';
import { ruleFailureField, ruleWarningField, sourceOfRejection } from './provenance.js';
import { quoteValue } from '../../runtime/quote.js';

/** The Lease upstream nfd-master campaigns on, so that mixed deployments still elect one leader. */
export const LEADER_LEASE_NAME = 'nfd-master.nfd.kubernetes.io';
const NODE_INDEX = 'node';

export interface MasterOptions {
  client: KubeClient;
  /** The master's namespace: its NodeFeature objects merge first; the Lease lives there. */
  namespace: string;
  /** -instance: bookkeeping annotations become `<instance>.nfd.node.kubernetes.io/…`. */
  instance?: string;
  policy: LabelPolicy;
  /** -no-publish: compute everything, write nothing to Nodes or NodeFeatureGroups. */
  noPublish?: boolean;
  /** -resync-period: re-evaluate every node this often (writes only what differs). */
  resyncPeriodMs?: number;
  /** -nfd-api-parallelism: Node updates in flight at once. */
  parallelism?: number;
  leaderElection?: boolean;
  /** host:port for /healthz and /readyz (and /metrics unless metricsAddress is given). */
  healthProbeAddress?: string;
  metricsAddress?: string;
  /** HTTPS with TokenReview/SubjectAccessReview on metricsAddress (see ManagerOptions). */
  metricsSecure?: boolean;
  metricsCertDir?: string;
  /** NodeFeature objects per page when listing (they are large). */
  informerPageSize?: number;
  log?: Logger;
}

/** The parts of a Node the master reads. */
export interface MasterNode extends KubeObject {
  spec?: { taints?: NodeTaintLike[] };
  status?: { capacity?: Record<string, string>; allocatable?: Record<string, string> };
}

/** What the master has done, for tests, benchmarks and logs. */
export interface MasterStats {
  reconciles: number;
  nodePatches: number;
  statusPatches: number;
  groupStatusWrites: number;
}

/**
 * Identical feature sets are stored once. Nodes of one machine type report the same CPU flags,
 * kernel config, modules and PCI devices; sharing them keeps the NodeFeature cache small
 * (upstream's cache of full NodeFeatures is a known memory problem). Entries are held weakly,
 * so a set no NodeFeature uses any more is collected.
 */
class FeatureInterner {
  private readonly sets = new Map<string, WeakRef<object>>();
  private readonly registry = new FinalizationRegistry<string>((key) => {
    if (!this.sets.get(key)?.deref()) this.sets.delete(key);
  });

  intern<T extends object>(kind: string, name: string, set: T): T {
    const key = createHash('sha256')
      .update(kind)
      .update('\0')
      .update(name)
      .update('\0')
      .update(JSON.stringify(set))
      .digest('base64');
    const had = this.sets.get(key)?.deref();
    if (had) return had as T;
    this.sets.set(key, new WeakRef(set));
    this.registry.register(set, key);
    return set;
  }

  get size(): number {
    return this.sets.size;
  }
}

function internFeatures(f: Features, interner: FeatureInterner): Features {
  const out: Features = { flags: {}, attributes: {}, instances: {} };
  for (const [k, v] of Object.entries(f.flags)) out.flags[k] = interner.intern('f', k, v);
  for (const [k, v] of Object.entries(f.attributes)) out.attributes[k] = interner.intern('a', k, v);
  for (const [k, v] of Object.entries(f.instances)) out.instances[k] = interner.intern('i', k, v);
  return out;
}

/**
 * nfd-master: merges each node's NodeFeature objects, evaluates every NodeFeatureRule, applies
 * the label policy and writes labels, annotations, taints and extended resources to the Node —
 * only what differs, from a cache that is fully synced before the first write (so a restart
 * never removes a label). Also keeps NodeFeatureGroup status current.
 */
export class NfdMaster {
  readonly mgr: Manager;
  readonly stats: MasterStats = {
    reconciles: 0,
    nodePatches: 0,
    statusPatches: 0,
    groupStatusWrites: 0,
  };
  private readonly opts: MasterOptions;
  private readonly log: Logger;
  private readonly interner = new FeatureInterner();
  /** NodeFeature objects the master could not read, with the reason (keyed by the cached object). */
  private readonly invalid = new WeakMap<object, string>();
  private readonly nodeApi: ResourceClient<MasterNode>;
  private readonly groupApi: ResourceClient<NodeFeatureGroup>;
  private features!: Informer<NodeFeature>;
  private ruleInformers: Informer<NodeFeatureRule>[] = [];
  private groups!: Informer<NodeFeatureGroup>;
  private compiled: CompiledRuleSet | undefined;
  readonly problems: ProblemReporter;
  /** Refusals already traced to their source (kind, name, reason), since the rules last changed. */
  private readonly tracedRejections = new Set<string>();
  private readonly compiledGroups = new WeakMap<object, CompiledGroup>();
  private readonly groupErrorsLogged = new WeakMap<object, Set<string>>();
  private readonly metrics: {
    updates: Counter;
    failures: Counter;
    rejected: Counter<'kind'>;
    ruleErrors: Counter;
    conflicts: Counter;
  };

  constructor(opts: MasterOptions) {
    this.opts = opts;
    this.mgr = new Manager({
      client: opts.client,
      name: 'nfd-master',
      log: opts.log,
      // Listing thousands of large objects from a busy apiserver can take minutes; waiting
      // longer beats exiting and starting the list over (upstream waits without a limit).
      cacheSyncTimeoutMs: 15 * 60_000,
      leaderElection: opts.leaderElection
        ? { namespace: opts.namespace, name: LEADER_LEASE_NAME }
        : undefined,
      ...metricsBesideProbes(opts),
    });
    this.log = this.mgr.log;
    this.nodeApi = this.mgr.api(Nodes);
    this.groupApi = this.mgr.api(NodeFeatureGroups);
    const r = this.mgr.metrics.registry;
    this.metrics = {
      updates: r.counter({
        name: 'nfd_node_updates_total',
        help: 'Node objects written by nfd-master',
      }),
      failures: r.counter({
        name: 'nfd_node_update_failures_total',
        help: 'Node writes that failed',
      }),
      rejected: r.counter({
        name: 'nfd_node_outputs_rejected_total',
        help: 'Labels, annotations, extended resources and taints refused by the label policy',
        labelNames: ['kind'],
      }),
      ruleErrors: r.counter({
        name: 'nfd_nodefeaturerule_processing_errors_total',
        help: 'Rules that failed on a node',
      }),
      conflicts: r.counter({
        name: 'nfd_node_update_conflicts_total',
        help: 'Node writes refused with Conflict because the Node changed meanwhile (retried)',
      }),
    };
    const events = new EventRecorder(opts.client, { component: 'nfd-master' }, this.log);
    this.problems = new ProblemReporter({
      log: this.log,
      lookup: (name) => this.ruleObject(name),
      event: opts.noPublish
        ? undefined
        : (o, type, reason, msg) => events.event(o, type, reason, msg),
      registry: this.mgr.metrics.registry,
    });
  }

  /** Starts watching; resolves once caches are synced (controllers run while this replica leads). */
  async start(): Promise<void> {
    const { mgr } = this;
    this.features = mgr.informers.informer(NodeFeatures, {
      transform: (nf) => this.compactNodeFeature(nf),
      indexers: { [NODE_INDEX]: (o) => [o.metadata.labels?.[NODE_NAME_LABEL] ?? o.metadata.name!] },
      pageSize: this.opts.informerPageSize ?? 200,
    });
    this.ruleInformers = [mgr.informers.informer(NodeFeatureRules)];
    // The OpenShift operator's NodeFeatureRule API, where the cluster serves it.
    if (await apiServes(this.opts.client, OpenShiftNodeFeatureRules)) {
      this.ruleInformers.push(mgr.informers.informer(OpenShiftNodeFeatureRules));
    }
    this.groups = mgr.informers.informer(NodeFeatureGroups);

    const invalidate = () => (this.compiled = undefined);
    for (const inf of this.ruleInformers) {
      inf.addEventHandler({ onAdd: invalidate, onUpdate: invalidate, onDelete: invalidate });
    }

    const allNodes = (): Request[] => this.featureNodes().map((name) => ({ name }));
    const nodeOf = (nf: NodeFeature): Request[] => [
      { name: nf.metadata.labels?.[NODE_NAME_LABEL] ?? nf.metadata.name! },
    ];
    // Nodes are read when the master works one out, as upstream does, not watched: a Node watch
    // delivers every kubelet status report, about 13 KB per node every few minutes, and those
    // events were nearly all an idle master's CPU (0.1–0.8 CPU-s a minute at 1,000 nodes).
    let builder = mgr.controller('nfd-master-node').watches(NodeFeatures, nodeOf);
    for (const inf of this.ruleInformers) {
      builder = builder.watches(inf.api.type, allNodes, { predicates: [generationChanged] });
    }
    const nodeController = builder
      .workers(this.opts.parallelism ?? 32)
      .complete((req) => this.reconcileNode(req.name));

    const groupController = mgr
      .controller('nfd-master-group')
      .for(NodeFeatureGroups, { predicates: [generationChanged] })
      .complete((req) => this.reconcileGroup(req.name, req.namespace!));
    // Membership depends on every node's features: re-evaluate groups after node changes,
    // coalesced over a second as upstream does, since each pass reads every node.
    const touchGroups = () => {
      for (const key of this.groups.keys()) groupController.queue.addAfter(key, 1000);
    };
    this.features.addEventHandler({
      onAdd: touchGroups,
      onUpdate: touchGroups,
      onDelete: touchGroups,
    });
    for (const inf of this.ruleInformers) {
      inf.addEventHandler({ onAdd: touchGroups, onUpdate: touchGroups, onDelete: touchGroups });
    }

    const resync = this.opts.resyncPeriodMs ?? 3_600_000;
    if (resync > 0) {
      mgr.add(
        periodic('resync', resync, () => {
          this.log.info('resync: re-evaluating every node and group');
          for (const r of allNodes()) nodeController.enqueue(r);
          for (const key of this.groups.keys()) groupController.queue.add(key);
        }),
      );
    }
    await mgr.start();
  }

  wait(): Promise<void> {
    return this.mgr.wait();
  }

  stop(): Promise<void> {
    return this.mgr.stop();
  }

  /** Validates a NodeFeature once, as it enters the cache, and shares its feature sets. */
  private compactNodeFeature(nf: NodeFeature): NodeFeature {
    const meta = {
      name: nf.metadata.name,
      namespace: nf.metadata.namespace,
      uid: nf.metadata.uid,
      resourceVersion: nf.metadata.resourceVersion,
      labels: nf.metadata.labels,
    };
    let read: NodeFeatureObject;
    try {
      read = readNodeFeature(nf, '');
    } catch (e) {
      const out = { apiVersion: nf.apiVersion, kind: nf.kind, metadata: meta, spec: {} };
      this.invalid.set(out, (e as Error).message);
      this.log.warn('ignoring invalid NodeFeature', {
        namespace: meta.namespace,
        name: meta.name,
        error: e,
      });
      return out;
    }
    return {
      apiVersion: nf.apiVersion,
      kind: nf.kind,
      metadata: meta,
      spec: { features: internFeatures(read.features, this.interner), labels: read.labels },
    };
  }

  private rules(): CompiledRuleSet {
    if (!this.compiled) {
      const objects = this.ruleInformers.flatMap((i) => i.list());
      this.compiled = compileRules(objects);
      this.problems.retain(objects);
      this.tracedRejections.clear();
      for (const w of this.compiled.warnings) {
        this.problems.report({
          rule: w.object,
          severity: 'warning',
          field: ruleWarningField(this.compiled, w),
          message: `rule ${quoteValue(w.rule)}: ${w.detail}; it fails the rule only where evaluation reaches it, as upstream`,
        });
      }
    }
    return this.compiled;
  }

  private ruleObject(name: string): NodeFeatureRule | undefined {
    for (const inf of this.ruleInformers) {
      const o = inf.getByName(name);
      if (o) return o;
    }
    return undefined;
  }

  /**
   * Says once which rule produced an output the policy refused (an Event on that rule), or, for
   * labels of the NodeFeature objects themselves, which node's.
   */
  private reportRejection(r: Rejection, node: string, features: Features): void {
    const key = `${r.kind}\0${r.name}\0${r.reason}`;
    if (this.tracedRejections.has(key)) return;
    if (this.tracedRejections.size >= 10_000) this.tracedRejections.clear();
    this.tracedRejections.add(key);
    const what = `${r.kind} ${quoteValue(r.name)}${r.kind === 'taint' ? '' : `=${quoteValue(r.value)}`}`;
    const source = sourceOfRejection(this.rules(), features, r);
    if (!source) {
      this.log.warn('NodeFeature output refused', { node, refused: what, reason: r.reason });
      return;
    }
    this.problems.report({
      rule: source.object,
      severity: 'error',
      field: source.field,
      message: `rule ${quoteValue(source.rule)}: ${what} refused: ${r.reason}`,
      node,
    });
  }

  /** The node's NodeFeature objects merged as upstream merges them; undefined if it has none. */
  mergedFeatures(node: string): { features: Features; labels: Record<string, string> } | undefined {
    const objs: NodeFeatureObject[] = [];
    for (const nf of this.features.byIndex(NODE_INDEX, node)) {
      if (this.invalid.has(nf)) continue;
      objs.push({
        name: nf.metadata.name!,
        namespace: nf.metadata.namespace ?? '',
        node,
        features: nf.spec.features as Features,
        labels: nf.spec.labels ?? {},
      });
    }
    if (objs.length === 0) return undefined;
    // One object (the common case): its cached features are used as they are, not copied;
    // nothing downstream modifies them.
    if (objs.length === 1) {
      return { features: objs[0]!.features, labels: addDefaultNamespace(objs[0]!.labels) };
    }
    return mergeNodeFeatures(objs, this.opts.namespace);
  }

  /** What the master wants on the node: rules over merged features, then the label policy. */
  desiredFor(node: string): DesiredNodeState {
    const merged = this.mergedFeatures(node) ?? { features: emptyFeatures(), labels: {} };
    const rules = this.rules();
    const processed = processRules(rules, merged.features);
    if (processed.errors.length) {
      this.metrics.ruleErrors.inc(processed.errors.length);
      for (const f of processed.errors) {
        this.problems.report({
          rule: f.object,
          severity: 'error',
          field: ruleFailureField(rules, f),
          message: `rule ${quoteValue(f.rule)}: ${f.error.detail}`,
          node,
        });
      }
    }
    const applied = applyLabelPolicy(
      {
        labels: { ...merged.labels, ...processed.labels },
        annotations: processed.annotations,
        extendedResources: processed.extendedResources,
        taints: processed.taints,
      },
      processed.features,
      this.opts.policy,
    );
    for (const r of applied.rejected) {
      this.metrics.rejected.inc({ kind: r.kind });
      this.reportRejection(r, node, merged.features);
    }
    return applied;
  }

  private async reconcileNode(name: string): Promise<Result | void> {
    const node = await this.nodeApi.find(name);
    if (!node || node.metadata.deletionTimestamp) return;
    this.stats.reconciles++;
    const update = computeNodeUpdate(
      {
        labels: node.metadata.labels,
        annotations: node.metadata.annotations,
        taints: node.spec?.taints,
        capacity: node.status?.capacity,
        allocatable: node.status?.allocatable,
      },
      this.desiredFor(name),
      this.opts.instance,
    );
    if (!update.patch && !update.statusPatch) return;
    if (this.opts.noPublish) {
      this.log.info('node update skipped (-no-publish)', { node: name, update });
      return;
    }
    try {
      await this.writeNode(name, node.metadata.resourceVersion, update);
      this.metrics.updates.inc();
      this.log.info('node updated', { node: name });
    } catch (e) {
      if (isKubeError(e, 'Conflict')) {
        // Someone changed the Node since we read it: expected, and the retry (after backoff)
        // reads it again.
        this.metrics.conflicts.inc();
        this.log.debug('node changed meanwhile; retrying', { node: name });
        return { requeue: true };
      }
      this.metrics.failures.inc();
      if (isKubeError(e, 'NotFound')) return;
      throw e;
    }
  }

  /** Every node some NodeFeature names: the nodes the master manages. */
  private featureNodes(): string[] {
    return this.features.indexedValues(NODE_INDEX);
  }

  /** Writes a node update computed from the Node at resourceVersion `rv`. */
  private async writeNode(name: string, rv: string | undefined, update: NodeUpdate): Promise<void> {
    // Status first: if the metadata write then fails, the bookkeeping still lists what we
    // added, and the retry finishes the job instead of forgetting a resource.
    if (update.statusPatch) {
      await this.nodeApi.patchStatus(name, update.statusPatch);
      this.stats.statusPatches++;
    }
    if (!update.patch) return;
    // spec.taints is replaced whole: guard it with the resourceVersion we computed from, so a
    // taint someone else adds meanwhile is not lost (Conflict → read again and retry).
    const body = update.taintsChanged
      ? { ...update.patch, metadata: { ...update.patch.metadata, resourceVersion: rv } }
      : update.patch;
    await this.nodeApi.patch(name, body);
    this.stats.nodePatches++;
  }

  private async reconcileGroup(name: string, namespace: string): Promise<void> {
    const group = this.groups.getByName(name, namespace);
    if (!group) return;
    let compiled = this.compiledGroups.get(group);
    if (!compiled) {
      compiled = compileGroup(group.spec.featureGroupRules ?? []);
      this.compiledGroups.set(group, compiled);
    }
    const members: string[] = [];
    const errors = new Set<string>();
    for (const node of this.featureNodes()) {
      const merged = this.mergedFeatures(node);
      if (!merged) continue;
      const m = matchGroup(compiled, merged.features);
      for (const e of m.errors) errors.add(e.message);
      if (m.matched) members.push(node);
    }
    // Each failure once per version of the group (the cached object changes with it).
    let logged = this.groupErrorsLogged.get(group);
    if (!logged) this.groupErrorsLogged.set(group, (logged = new Set()));
    for (const e of errors) {
      if (logged.has(e)) continue;
      logged.add(e);
      this.log.warn('NodeFeatureGroup rule failed', { namespace, name, error: e });
    }
    members.sort();
    const want = members.map((n) => ({ name: n }));
    if (deepEqual(group.status?.nodes ?? [], want)) return;
    if (this.opts.noPublish) return;
    await this.groupApi.patchStatus(name, { status: { nodes: want } }, { namespace });
    this.stats.groupStatusWrites++;
  }
}
