import { registerProcessMetrics } from './process-metrics.js';
import { Registry, type Counter, type Gauge, type Histogram } from './prometheus.js';
import type { InformerObserver } from './informer.js';
import type { QueueObserver, WorkQueue } from './queue.js';
import { COMMIT, VERSION } from '../version.js';

const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1,
  1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
const QUEUE_BUCKETS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10, 100, 1000];

/**
 * The runtime's Prometheus metrics, under controller-runtime's names (controller_runtime_*,
 * workqueue_*, leader_election_master_status) so that existing dashboards and alerts work,
 * plus hwe_informer_* and hwe_build_info. Each manager has its own registry.
 */
export class RuntimeMetrics {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrent: Gauge<'controller'>;
  readonly queueDepth: Gauge<'name' | 'controller'>;
  readonly queueAdds: Counter<'name' | 'controller'>;
  readonly queueLatency: Histogram<'name' | 'controller'>;
  readonly workDuration: Histogram<'name' | 'controller'>;
  readonly retries: Counter<'name' | 'controller'>;
  private readonly queues = new Map<string, WorkQueue<unknown>>();
  readonly leader: Gauge<'name'>;
  readonly informerObjects: Gauge<'kind'>;
  readonly informerRelists: Counter<'kind'>;
  readonly informerRestarts: Counter<'kind' | 'reason'>;
  readonly informerEvents: Counter<'kind' | 'type'>;

  constructor(opts: { registry?: Registry; processMetrics?: boolean } = {}) {
    const r = (this.registry = opts.registry ?? new Registry());
    if (opts.processMetrics ?? true) registerProcessMetrics(r);
    this.reconcileTotal = r.counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
    });
    this.reconcileErrors = r.counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
    });
    this.reconcileTime = r.histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
    });
    this.activeWorkers = r.gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
    });
    this.maxConcurrent = r.gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
    });
    const q = ['name', 'controller'] as const;
    this.queueDepth = r.gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: q,
    });
    this.queueAdds = r.counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: q,
    });
    this.queueLatency = r.histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: q,
      buckets: QUEUE_BUCKETS,
    });
    this.workDuration = r.histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: q,
      buckets: QUEUE_BUCKETS,
    });
    this.retries = r.counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: q,
    });
    const queues = this.queues;
    r.gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration",
      labelNames: q,
      collect: (report) => {
        for (const [n, wq] of queues)
          report({ name: n, controller: n }, wq.unfinishedWorkSeconds());
      },
    });
    r.gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running',
      labelNames: q,
      collect: (report) => {
        for (const [n, wq] of queues)
          report({ name: n, controller: n }, wq.longestRunningSeconds());
      },
    });
    this.leader = r.gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
    });
    this.informerObjects = r.gauge({
      name: 'hwe_informer_objects',
      help: 'Objects held in the informer cache per kind',
      labelNames: ['kind'],
    });
    this.informerRelists = r.counter({
      name: 'hwe_informer_relists_total',
      help: 'Full lists after the first one (410 Gone, errors) per kind',
      labelNames: ['kind'],
    });
    this.informerRestarts = r.counter({
      name: 'hwe_informer_watch_restarts_total',
      help: 'Watches that ended and were started again, by reason',
      labelNames: ['kind', 'reason'],
    });
    this.informerEvents = r.counter({
      name: 'hwe_informer_watch_events_total',
      help: 'Watch events received per kind and type',
      labelNames: ['kind', 'type'],
    });
    r.gauge({
      name: 'hwe_build_info',
      help: 'Version and commit of the running hwe build (always 1)',
      labelNames: ['version', 'commit'],
    }).set({ version: VERSION, commit: COMMIT }, 1);
  }

  /** Reports a queue's in-progress work at scrape time. */
  watchQueue(controller: string, queue: WorkQueue<unknown>): void {
    this.queues.set(controller, queue);
  }

  queueObserver(controller: string): QueueObserver {
    const l = { name: controller, controller };
    return {
      add: () => this.queueAdds.inc(l),
      depth: (n) => this.queueDepth.set(l, n),
      queueLatency: (s) => this.queueLatency.observe(l, s),
      workDuration: (s) => this.workDuration.observe(l, s),
      retry: () => this.retries.inc(l),
    };
  }

  informerObserver(kind: string): InformerObserver {
    return {
      objects: (n) => this.informerObjects.set({ kind }, n),
      relist: () => this.informerRelists.inc({ kind }),
      watchRestart: (reason) => this.informerRestarts.inc({ kind, reason }),
      event: (type) => this.informerEvents.inc({ kind, type }),
    };
  }
}
