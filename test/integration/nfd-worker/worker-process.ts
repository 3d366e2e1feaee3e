/** A long-running `hwe nfd worker` process for tests, outside any pod. */
import { spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import { HWE_MAIN } from '../../support/cli.js';

/** The pod environment cleared, so that nothing of the machine's leaks into the worker. */
export const NO_POD = {
  POD_NAME: '',
  POD_UID: '',
  POD_NAMESPACE: '',
  NODE_NAME: '',
  KUBECONFIG: '',
};

export interface WorkerProcess {
  child: ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Its exit code once it ends. */
  exited: Promise<number | null>;
}

/** Where and as whom a test's worker runs; the node and namespace may come from the pod's environment. */
export interface WorkerTarget {
  hostRoot: string;
  node?: string;
  namespace?: string;
  kubeconfig?: string;
}

/**
 * The worker's arguments for a test: no configuration file, the host root, and the node,
 * namespace and kubeconfig that are given, then `extra`.
 */
export function workerArgs(t: WorkerTarget, ...extra: string[]): string[] {
  return [
    '-config',
    '',
    '-host-root',
    t.hostRoot,
    ...(t.node === undefined ? [] : ['-node-name', t.node]),
    ...(t.namespace === undefined ? [] : ['-namespace', t.namespace]),
    ...(t.kubeconfig === undefined ? [] : ['-kubeconfig', t.kubeconfig]),
    ...extra,
  ];
}

/** Starts `hwe nfd worker ARGS…`; it is killed when the test file ends. */
export function startWorker(args: string[]): WorkerProcess {
  const child = spawn(process.execPath, [HWE_MAIN, 'nfd', 'worker', ...args], {
    env: { ...process.env, ...NO_POD },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  after(() => child.kill('SIGKILL'));
  return { child, stderr: () => stderr, exited };
}

/** `p`, or its error with what the worker logged so far, so that a failure says what it did. */
export async function withWorkerLog<T>(worker: WorkerProcess, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw new Error(`${(e as Error).message}\nworker's log:\n${worker.stderr().slice(-4000)}`, {
      cause: e,
    });
  }
}
