import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../../src/version.js';

/** The compiled CLI of the same build as this file (dist/src/cli/main.js or another outDir). */
export const HWE_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * What runs `hwe`: the committed launcher bin/hwe when this is the regular build (dist/), as a
 * user runs it; the build's own main.js otherwise.
 */
export const HWE_ENTRY =
  HWE_MAIN === join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js')
    ? join(PACKAGE_ROOT, 'bin', 'hwe')
    : HWE_MAIN;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** What the program reads on stdin (nothing by default). */
  input?: string;
  cwd?: string;
}

/** Runs `hwe ARGS...` as a child process, as a user would; `env` is set over this process's. */
export function runHwe(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return runProgram(process.execPath, [HWE_ENTRY, ...args], {
    ...opts,
    env: { ...process.env, ...opts.env },
  });
}

/** Runs a program to its end, collecting its output; `env` is its whole environment. */
export function runProgram(cmd: string, args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** An `hwe` program running in the background. */
export interface HweProcess {
  child: ChildProcess;
  /** What it wrote to stderr so far. */
  log: () => string;
  /** Its exit code once it ends. */
  exited: Promise<number | null>;
  /** Sends SIGTERM when it still runs, and waits for its end. */
  stop: () => Promise<void>;
}

/**
 * Starts `hwe ARGS...` as a user would, in the background (stdout dropped, stderr collected);
 * `env` is set over this process's. The caller stops it.
 */
export function startHwe(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): HweProcess {
  const child = spawn(process.execPath, [HWE_ENTRY, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return { child, log: () => log, exited, stop };
}
