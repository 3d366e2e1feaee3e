import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The kernel's range of ports for outgoing connections (ip_local_port_range). */
export function ephemeralPortRange(
  text = readTextOr('/proc/sys/net/ipv4/ip_local_port_range'),
): [number, number] {
  const [low, high] = (text ?? '').trim().split(/\s+/).map(Number);
  return low && high && low <= high ? [low, high] : [32768, 60999];
}

function readTextOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Listens on `port` (0: any) on 127.0.0.1 and closes again; the port, or undefined if taken. */
function tryPort(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : undefined));
    });
  });
}

/** Below the kernel's ephemeral range: ports no outgoing connection is ever given. */
export const LISTEN_PORT_FLOOR = 10_000;

/**
 * A port on 127.0.0.1 that was free a moment ago, chosen at random below the kernel's
 * ephemeral range. A port the kernel hands out for listen(0) can be taken by any outgoing
 * connection on the machine once it is closed again, so a component restarted on it (etcd,
 * kube-apiserver) could find it gone; below the range only another listener can take it.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralPortRange();
  const span = low - LISTEN_PORT_FLOOR;
  for (let i = 0; span > 1000 && i < 50; i++) {
    const port = await tryPort(LISTEN_PORT_FLOOR + Math.floor(Math.random() * span));
    if (port) return port;
  }
  const any = await tryPort(0);
  if (!any) throw new Error('no free port on 127.0.0.1');
  return any;
}

/**
 * Whether a process runs. A zombie counts as gone: a process whose parent died is handed to
 * PID 1, which in containers often never reaps it, and kill(pid, 0) still succeeds on it.
 * A zombie whose other threads still run does not: its main thread has exited, but the
 * process keeps its files (listening ports, locks) until the last thread is done, which for
 * a killed etcd can take seconds.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readTextOr(`/proc/${pid}/stat`);
  return stat === undefined || statSaysRunning(stat); // no /proc: trust kill(0)
}

/**
 * From a /proc/PID/stat line: whether the process still runs, i.e. it is not a zombie (or
 * dead) with no thread left but the exited main one. Fields after the command's closing
 * parenthesis: state is the first, the number of threads the eighteenth.
 */
export function statSaysRunning(stat: string): boolean {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state !== 'Z' && state !== 'X') return true;
  return Number(fields[17]) > 1;
}

/**
 * Starts a program in its own process group, detached from ours, with stdout and stderr
 * appended to `logFile`. Returns its PID; the process keeps running if we exit.
 */
export function startDetached(
  bin: string,
  args: string[],
  logFile: string,
  env?: NodeJS.ProcessEnv,
): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(bin, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: env ?? process.env,
    });
    if (child.pid === undefined) throw new Error(`could not start ${bin}`);
    child.unref();
    // Reap it if it dies while we still run, so isAlive() sees the exit.
    child.on('error', () => undefined);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops process groups: SIGTERM to each group, then SIGKILL to what is left after `graceMs`.
 * Returns once every process is gone, or `exitMs` after the SIGKILL if one is still exiting
 * (the kernel tearing down a large process can take that long; it cannot refuse).
 */
export async function killGroups(pids: number[], graceMs = 5000, exitMs = 30_000): Promise<void> {
  const signal = (pid: number, sig: NodeJS.Signals) => {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, sig);
      } catch {
        // Already gone, or not a group leader.
      }
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(50);
  for (const pid of pids.filter(isAlive)) signal(pid, 'SIGKILL');
  const hardDeadline = Date.now() + exitMs;
  while (pids.some(isAlive) && Date.now() < hardDeadline) await sleep(50);
}

/**
 * Starts a small watchdog process that waits for `ownerPid` to exit and then kills the process
 * groups listed in `pidsFile` (one PID per line, read at that moment). It keeps a test run from
 * leaving a control plane behind when the run is killed: SIGKILL leaves no chance to clean up
 * in-process. It is a Node.js script rather than a shell one: dash's kill cannot signal groups.
 */
export function startWatchdog(ownerPid: number, pidsFile: string, logFile: string): number {
  const script = `
    const { readFileSync } = require('node:fs');
    const alive = (pid) => {
      try { process.kill(pid, 0); } catch (e) { return e.code === 'EPERM'; }
      try { const s = readFileSync('/proc/' + pid + '/stat', 'utf8'); return !/^[ZX]/.test(s.slice(s.lastIndexOf(')') + 2)); }
      catch { return true; }
    };
    const groups = () => { try { return readFileSync(${JSON.stringify(pidsFile)}, 'utf8').split('\\n').filter(Boolean).map(Number); } catch { return []; } };
    const signal = (sig) => { for (const p of groups()) for (const t of [-p, p]) { try { process.kill(t, sig); } catch {} } };
    const timer = setInterval(() => {
      if (alive(${ownerPid})) return;
      clearInterval(timer);
      signal('SIGTERM');
      setTimeout(() => { signal('SIGKILL'); process.exit(0); }, 3000);
    }, 500);
  `;
  return startDetached(process.execPath, ['-e', script], logFile);
}
