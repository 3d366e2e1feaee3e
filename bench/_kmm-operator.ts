/**
 * The KMM operator as the benches run it: in its own process, so that its memory is its own,
 * counting the API writes it makes. Answers {type: 'stats'} messages with its figures.
 * Arguments: KUBECONFIG NAMESPACE [IDENTITY]; with an identity it takes part in leader election
 * (upstream's Lease) under that name, and exits 1 when it loses the lease, as the operator does.
 */
import { readFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import {
  KubeClient,
  Manager,
  createLogger,
  loadKubeconfig,
  silentLogger,
} from '../src/runtime/index.js';
import {
  defaultConfig,
  OPERATOR_HEAP_GROWTH_PERCENT,
  OPERATOR_OPTIMIZE_FOR_SIZE,
  OPERATOR_LIST_PAGE_SIZE,
  OPERATOR_MAX_SOCKETS,
  setupKmmControllers,
} from '../src/kmm/operator/index.js';

const [kubeconfig, namespace, identity] = process.argv.slice(2);
// As `hwe kmm operator` makes its client and manager.
const client = new KubeClient(loadKubeconfig([kubeconfig!]), { maxSockets: OPERATOR_MAX_SOCKETS });
const writes = { total: 0, events: 0, byResource: {} as Record<string, number> };
const request = client.request.bind(client);
client.request = (path: string, init?: { method?: string }) => {
  const method = init?.method ?? 'GET';
  if (method !== 'GET') {
    writes.total++;
    if (/\/events(\/|$)/.test(path)) writes.events++;
    const m =
      /^\/(?:api\/v1|apis\/[^/]+\/[^/]+)(?:\/namespaces\/[^/]+)?\/([^/]+)(?:\/[^/]+)?(\/status)?/.exec(
        path,
      );
    const kind = `${method} ${m?.[1] ?? path}${m?.[2] ?? ''}`;
    writes.byResource[kind] = (writes.byResource[kind] ?? 0) + 1;
  }
  return request(path, init as never);
};

function memory(): Record<string, number> {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  const u = process.memoryUsage();
  return {
    rssMB: kb('VmRSS') / 1024,
    peakMB: kb('VmHWM') / 1024,
    fileMB: kb('RssFile') / 1024,
    heapMB: u.heapUsed / 1048576,
    heapTotalMB: u.heapTotal / 1048576,
    externalMB: u.external / 1048576,
  };
}

const log = process.env.HWE_LOG_LEVEL ? createLogger({ name: 'kmm' }) : silentLogger;
function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const mgr = new Manager({
  client,
  name: 'kmm',
  log,
  heapGrowthPercent: OPERATOR_HEAP_GROWTH_PERCENT,
  optimizeForSize: OPERATOR_OPTIMIZE_FOR_SIZE,
  informerDefaults: { pageSize: OPERATOR_LIST_PAGE_SIZE },
  ...(identity
    ? {
        leaderElection: {
          namespace: namespace!,
          name: defaultConfig().leaderElection.resourceID,
          identity,
        },
      }
    : {}),
});
setupKmmControllers(mgr, {
  config: defaultConfig(),
  operatorNamespace: namespace!,
  workerImage: 'hwe:bench',
});
await mgr.start();
mgr.wait().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`kmm operator stopped: ${String(e)}\n`);
    process.exit(1);
  },
);
process.on('message', (m: { type?: string; file?: string }) => {
  if (m.type === 'stats') process.send!({ type: 'stats', writes, cpuSeconds: cpu(), ...memory() });
  if (m.type === 'snapshot') process.send!({ type: 'snapshot', file: writeHeapSnapshot(m.file) });
  if (m.type === 'stop') void mgr.stop().then(() => process.exit(0));
});
// Gone with the bench, even when it was killed; SIGTERM stops it as it stops the operator (and
// lets node write what --cpu-prof or --heap-prof collected).
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => void mgr.stop().then(() => process.exit(0)));
process.send!({ type: 'ready' });
