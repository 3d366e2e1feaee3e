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
  const counters: [string, string, () => number][] = [
    [
      'process_cpu_user_seconds_total',
      'CPU seconds used by this process in user mode',
      cpu('user'),
    ],
    [
      'process_cpu_system_seconds_total',
      'CPU seconds used by the kernel for this process',
      cpu('system'),
    ],
    ['process_cpu_seconds_total', 'CPU seconds used by this process, user and kernel', cpu('both')],
  ];
  for (const [name, help, read] of counters) {
    registry.counter({ name, help, collect: (report) => report(read()) });
  }
  const start = Math.round(Date.now() / 1000 - process.uptime());
  const lag = EventLoopLag.start();
  const gauges: [string, string, () => number | undefined][] = [
    [
      'process_start_time_seconds',
      'When this process started, in seconds since the Unix epoch',
      () => start,
    ],
    [
      'process_resident_memory_bytes',
      'Bytes of memory resident in RAM (RSS)',
      () => process.memoryUsage.rss(),
    ],
    [
      'process_virtual_memory_bytes',
      'Bytes of virtual address space (VmSize)',
      () => procStatusBytes('VmSize'),
    ],
    [
      'process_heap_bytes',
      'Bytes of data segment and private mappings (VmData)',
      () => procStatusBytes('VmData'),
    ],
    ['process_open_fds', 'File descriptors this process has open', openFds],
    ['process_max_fds', 'The most file descriptors this process may open (soft limit)', maxFds],
    [
      'nodejs_eventloop_lag_seconds',
      'How late the event loop ran its last once-a-second tick, in seconds',
      () => lag.seconds,
    ],
    [
      'nodejs_heap_size_total_bytes',
      'Bytes V8 holds for the JavaScript heap',
      () => process.memoryUsage().heapTotal,
    ],
    [
      'nodejs_heap_size_used_bytes',
      'Bytes of the JavaScript heap in use',
      () => process.memoryUsage().heapUsed,
    ],
    [
      'nodejs_external_memory_bytes',
      'Bytes outside the JavaScript heap held by its objects (buffers and the like)',
      () => process.memoryUsage().external,
    ],
    [
      'nodejs_active_resources_total',
      'Timers, sockets and requests keeping the event loop alive',
      () => process.getActiveResourcesInfo().length,
    ],
  ];
  for (const [name, help, read] of gauges) {
    registry.gauge({
      name,
      help,
      collect: (report) => {
        const v = read();
        if (v !== undefined) report(v);
      },
    });
  }
  for (const [what, key, held] of [
    ['total', 'space_size', 'held'],
    ['used', 'space_used_size', 'in use'],
    ['available', 'space_available_size', 'free'],
  ] as const) {
    registry.gauge({
      name: `nodejs_heap_space_size_${what}_bytes`,
      help: `Bytes ${held} in each space of the JavaScript heap`,
      labelNames: ['space'],
      collect: (report) => {
        for (const s of getHeapSpaceStatistics()) {
          report({ space: s.space_name.replace(/_space$/, '') }, s[key]);
        }
      },
    });
  }
  const [major, minor, patch] = process.versions.node.split('.');
  registry
    .gauge({
      name: 'nodejs_version_info',
      help: 'The Node.js release running this process (always 1)',
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
