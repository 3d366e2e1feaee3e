import { readdirSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Registry } from './prometheus.js';

/**
 * The process metrics every Prometheus client library exposes (`process_*`, under the names and
 * units of the client conventions) and Node's own (`nodejs_*`), read at scrape time from
 * `process`, V8 and /proc/self. On a system without /proc the /proc ones are left out.
 */
export function registerProcessMetrics(registry: Registry): void {
  const cpu = (part: 'user' | 'system' | 'both') => () => {
    const { user, system } = process.cpuUsage();
    return (part === 'user' ? user : part === 'system' ? system : user + system) / 1e6;
  };
  const cpuCounter = (name: string, help: string, read: () => number) =>
    registry.counter({ name, help, collect: (report) => report(read()) });
  cpuCounter('process_cpu_user_seconds_total', 'User CPU time spent in seconds.', cpu('user'));
  cpuCounter(
    'process_cpu_system_seconds_total',
    'System CPU time spent in seconds.',
    cpu('system'),
  );
  cpuCounter(
    'process_cpu_seconds_total',
    'Total user and system CPU time spent in seconds.',
    cpu('both'),
  );

  const gauge = (name: string, help: string, read: () => number | undefined) =>
    registry.gauge({
      name,
      help,
      collect: (report) => {
        const v = read();
        if (v !== undefined) report(v);
      },
    });
  const start = Math.round(Date.now() / 1000 - process.uptime());
  gauge(
    'process_start_time_seconds',
    'Start time of the process since unix epoch in seconds.',
    () => start,
  );
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () =>
    process.memoryUsage.rss(),
  );
  gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.', () =>
    procStatusBytes('VmSize'),
  );
  gauge('process_heap_bytes', 'Process heap size in bytes.', () => procStatusBytes('VmData'));
  gauge('process_open_fds', 'Number of open file descriptors.', openFds);
  gauge('process_max_fds', 'Maximum number of open file descriptors.', maxFds);

  const lag = EventLoopLag.start();
  gauge(
    'nodejs_eventloop_lag_seconds',
    'How late the last once-a-second event loop tick ran, in seconds.',
    () => lag.seconds,
  );
  gauge(
    'nodejs_heap_size_total_bytes',
    'Process heap size from Node.js in bytes.',
    () => process.memoryUsage().heapTotal,
  );
  gauge(
    'nodejs_heap_size_used_bytes',
    'Process heap size used from Node.js in bytes.',
    () => process.memoryUsage().heapUsed,
  );
  gauge(
    'nodejs_external_memory_bytes',
    'Node.js external memory size in bytes.',
    () => process.memoryUsage().external,
  );
  for (const [what, key] of [
    ['total', 'space_size'],
    ['used', 'space_used_size'],
    ['available', 'space_available_size'],
  ] as const) {
    registry.gauge({
      name: `nodejs_heap_space_size_${what}_bytes`,
      help: `Process heap space size ${what} from Node.js in bytes.`,
      labelNames: ['space'],
      collect: (report) => {
        for (const s of getHeapSpaceStatistics()) {
          report({ space: s.space_name.replace(/_space$/, '') }, s[key]);
        }
      },
    });
  }
  registry.gauge({
    name: 'nodejs_active_resources_total',
    help: 'Number of active resources keeping the event loop alive (timers, sockets, requests).',
    collect: (report) => report(process.getActiveResourcesInfo().length),
  });
  const [major, minor, patch] = process.versions.node.split('.');
  registry
    .gauge({
      name: 'nodejs_version_info',
      help: 'Node.js version info.',
      labelNames: ['version', 'major', 'minor', 'patch'],
    })
    .set({ version: process.version, major: major!, minor: minor!, patch: patch! }, 1);
}

/** A `kB` line of /proc/self/status (VmSize, VmData) in bytes. */
function procStatusBytes(field: string): number | undefined {
  const status = readProc('/proc/self/status');
  const m = status && new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1; // less the directory being read
  } catch {
    return undefined;
  }
}

function maxFds(): number | undefined {
  const m = /^Max open files\s+(\d+)/m.exec(readProc('/proc/self/limits') ?? '');
  return m ? Number(m[1]) : undefined;
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Event-loop lag from one timer a second, shared by every registry of the process: how much later
 * than due its last tick ran. The timer is unref'd, so it never keeps a process alive, and an
 * idle process wakes for it once a second.
 */
class EventLoopLag {
  private static shared: EventLoopLag | undefined;
  seconds = 0;

  static start(): EventLoopLag {
    return (EventLoopLag.shared ??= new EventLoopLag());
  }

  private constructor() {
    const period = 1000;
    let last = process.hrtime.bigint();
    setInterval(() => {
      const now = process.hrtime.bigint();
      this.seconds = Math.max(0, Number(now - last - BigInt(period * 1e6)) / 1e9);
      last = now;
    }, period).unref();
  }
}
